// A tiny torch-free worker for tests/test_worker.cc. In this order: echoes stdin to stdout
// (--echo-stdin), allocates and touches N MiB (--mib N, --step-ms pauses after each MiB), prints
// "allocated N MiB", sleeps (--sleep-ms), writes a line to stderr (--stderr TEXT), raises a
// signal (--signal S), exits with a code (--exit C, default 0).
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  long mib = 0, step_ms = 0, sleep_ms = 0;
  int signal_number = 0, exit_code = 0;
  bool echo = false;
  std::string stderr_text;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "memory_hog: %s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--mib") {
      mib = std::atol(value().c_str());
    } else if (a == "--step-ms") {
      step_ms = std::atol(value().c_str());
    } else if (a == "--sleep-ms") {
      sleep_ms = std::atol(value().c_str());
    } else if (a == "--signal") {
      signal_number = std::atoi(value().c_str());
    } else if (a == "--exit") {
      exit_code = std::atoi(value().c_str());
    } else if (a == "--stderr") {
      stderr_text = value();
    } else if (a == "--echo-stdin") {
      echo = true;
    } else {
      std::fprintf(stderr, "memory_hog: unknown argument %s\n", a.c_str());
      return 64;
    }
  }
  if (echo) {
    const std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    std::cout << in << std::flush;
  }
  std::vector<char*> blocks;
  for (long i = 0; i < mib; ++i) {
    char* p = static_cast<char*>(std::malloc(1 << 20));
    if (!p) return 70;
    std::memset(p, static_cast<int>(i & 0x7f) + 1, 1 << 20);  // touch every page
    blocks.push_back(p);
    if (step_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  }
  if (mib > 0) std::cout << "allocated " << mib << " MiB" << std::endl;
  if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  if (!stderr_text.empty()) std::cerr << stderr_text << std::endl;
  if (signal_number > 0) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // a test crash leaves no core file behind
    std::raise(signal_number);
  }
  for (char* p : blocks) std::free(p);
  return exit_code;
}
