#pragma once
// Small string helpers shared by error messages and canonical forms.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

// "[512, 640]"
std::string format_list(const std::vector<int>& values);
// 64-bit FNV-1a of the bytes of `text`.
std::uint64_t fnv1a64(const std::string& text);
// 16 lowercase hex digits.
std::string hex64(std::uint64_t value);
// Atomically replace `path` with `contents`: write `path.tmp.<pid>`, flush, rename.
void write_file_atomically(const std::string& path, const std::string& contents);
std::string read_text_file(const std::string& path);
// "1:02:05" (hours:minutes:seconds), for progress lines and ETAs.
std::string format_duration(double seconds);

}  // namespace thanos
