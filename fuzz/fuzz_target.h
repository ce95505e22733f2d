#pragma once
// What every fuzz harness shares (docs/RELIABILITY.md, "Fuzzing"). A harness is one source file
// fuzz/<name>.cc that feeds its input to one real parser through THANOS_FUZZ_TARGET(name):
//   - in the fuzz build (cmake -DTHANOS_FUZZ=ON, clang + libFuzzer + ASan/UBSan) the macro is
//     libFuzzer's LLVMFuzzerTestOneInput, one program per harness;
//   - in the normal build the harnesses are linked together into thanos_fuzz_replay, where the
//     macro registers the function under its name, and ctest replays fuzz/corpus/<name>/ and
//     fuzz/regressions/<name>/ through it (fuzz/replay_main.cc), so every input that once crashed
//     stays a test without clang.
// A parser may refuse an input only with its documented error: std::invalid_argument (or
// std::runtime_error where the parser documents it) whose message names the input. Anything else
// escaping (a library's exception, std::bad_alloc, std::out_of_range, ...) is a finding: the
// harness aborts, which libFuzzer saves as a crash and ctest reports as a failure.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include <cxxabi.h>

namespace thanos::fuzz {

using Entry = int (*)(const std::uint8_t* data, std::size_t size);

// Replay build only: records `entry` under `name` (returns true, for a static initializer).
bool register_target(const char* name, Entry entry);

// Stops the process as a finding: a message on stderr, then abort() (libFuzzer keeps the input).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Which refusals a parser documents.
enum Accept : unsigned {
  kInvalidArgument = 1u << 0,
  kRuntimeError = 1u << 1,  // std::runtime_error and its subclasses (agent::WireError)
};

// The type of the exception in flight, for a finding's message (name mangled; c++filt reads it).
inline std::string current_exception_type() {
#if defined(__GXX_ABI_VERSION)
  if (const std::type_info* t = __cxxabiv1::__cxa_current_exception_type()) return t->name();
#endif
  return "(unknown)";
}

// Runs `parse`; a documented refusal (`accept`) whose message contains `must_name` (the file or
// source name the parser was given; "" = any non-empty message) passes, anything else is a
// finding. Returns whether `parse` returned normally.
template <typename F>
bool expect_documented(F&& parse, unsigned accept, const std::string& must_name) {
  auto check_message = [&](const char* kind, const std::exception& e) {
    const std::string what = e.what();
    if (what.empty()) finding(std::string(kind) + " with an empty message");
    if (!must_name.empty() && what.find(must_name) == std::string::npos) {
      finding(std::string(kind) + " does not name the input '" + must_name + "': " + what);
    }
  };
  try {
    parse();
    return true;
  } catch (const std::invalid_argument& e) {
    if (!(accept & kInvalidArgument)) finding(std::string("undocumented std::invalid_argument: ") + e.what());
    check_message("std::invalid_argument", e);
  } catch (const std::runtime_error& e) {
    // yaml-cpp's exceptions derive from std::runtime_error, but they are raw library messages
    // ("yaml-cpp: error at line 1, column 3: bad conversion"): a parser must translate them.
    const std::string what = e.what();
    if (what.rfind("yaml-cpp:", 0) == 0) finding("raw yaml-cpp exception escaped: " + what);
    if (!(accept & kRuntimeError)) finding("undocumented " + current_exception_type() + ": " + what);
    check_message("std::runtime_error", e);
  } catch (const std::exception& e) {
    finding("undocumented exception " + current_exception_type() + ": " + e.what());
  } catch (...) {
    finding("undocumented exception of a non-std type " + current_exception_type());
  }
  return false;
}

// The input as text (parsers take std::string).
inline std::string as_text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A private scratch folder for the parsers that read files (created once per process, removed at
// exit); write_file puts `bytes` at scratch()/name, replacing what was there.
const std::string& scratch();
std::string write_file(const std::string& name, const std::string& bytes);

}  // namespace thanos::fuzz

#if defined(THANOS_FUZZ_LIBFUZZER)
#define THANOS_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define THANOS_FUZZ_TARGET(name)                                                                  \
  static int thanos_fuzz_entry_##name(const std::uint8_t* data, std::size_t size);               \
  [[maybe_unused]] static const bool thanos_fuzz_registered_##name =                             \
      ::thanos::fuzz::register_target(#name, &thanos_fuzz_entry_##name);                         \
  static int thanos_fuzz_entry_##name(const std::uint8_t* data, std::size_t size)
#endif
