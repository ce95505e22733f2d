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

// Whether a file name that a data file gives (a manifest, a sidecar) stays inside the folder it is
// resolved in: not empty, not absolute, no "..". Refusing the others keeps such a file from handing
// another one (/etc/passwd) to a reader.
bool is_name_inside_folder(const std::string& name);

// The last non-empty lines of `text` (a child's stderr), trimmed and joined with " | ", about
// `max_chars` at most (cut at the front, marked "..."): what an error message quotes of it.
std::string last_lines_joined(const std::string& text, std::size_t max_chars);
// Lines of `text` split on "\n": a final newline ends the last line rather than starting an empty
// one. With `strip_cr`, a "\r" ending a line is dropped (files written on Windows); scoring keeps it
// (sacreBLEU splits on "\n" only).
std::vector<std::string> split_lines(const std::string& text, bool strip_cr);
// "3.14" for (3.14159, 2): fixed-point with `digits` decimals, for logs and reports.
std::string format_fixed(double value, int digits);
// "1:02:05" (hours:minutes:seconds), for progress lines and ETAs.
std::string format_duration(double seconds);

}  // namespace thanos
