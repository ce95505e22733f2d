#pragma once
// A `thanos agent` on 127.0.0.1 (a free port) started for one test with a token of its own, and
// stopped with SIGTERM when the object goes (tests/test_measure_cli.cc, tests/test_deploy.cc).
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_util.h"
#include "thanos/common/text.h"

namespace thanos::testing {

class LoopbackAgent {
 public:
  // `dir`: where the token, the log and the pid file go; `extra`: more agent options.
  LoopbackAgent(const std::string& dir, const std::string& extra = "")
      : token_(dir + "/token"), log_(dir + "/agent.log") {
    write_file_atomically(token_, "loopback-agent-test-token\n");
    ::chmod(token_.c_str(), 0600);
    const std::string pid_file = dir + "/agent.pid";
    const std::string start = std::string(THANOS_BINARY) + " --threads 1 agent --listen 127.0.0.1:0 --token-file " + token_ +
                              " " + extra + " > " + log_ + " 2>&1 & echo $! > " + pid_file;
    if (std::system(start.c_str()) != 0) throw std::runtime_error("cannot start the agent: " + start);
    for (int i = 0; i < 200 && address_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text;
      try {
        text = read_text_file(log_);
      } catch (const std::exception&) {
      }
      const auto at = text.find("listening on ");
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        address_ = text.substr(at + 13, text.find('\n', at) - at - 13);
      }
    }
    pid_ = std::stoi(read_text_file(pid_file));
  }
  ~LoopbackAgent() { ::kill(pid_, SIGTERM); }
  LoopbackAgent(const LoopbackAgent&) = delete;
  LoopbackAgent& operator=(const LoopbackAgent&) = delete;

  const std::string& address() const { return address_; }  // empty when it did not come up
  const std::string& token_file() const { return token_; }
  std::string log() const { return read_text_file(log_); }

 private:
  std::string token_, log_, address_;
  int pid_ = -1;
};

}  // namespace thanos::testing
