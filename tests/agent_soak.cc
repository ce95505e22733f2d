// A bounded loopback soak of `thanos agent` (docs/RELIABILITY.md, "Agent soak"; issue 27): the
// real agent as a child process, measuring a tiny SubTransformer for correct clients while
// silent, slow (slowloris) and hostile clients (deep nesting, oversize length prefixes, garbage,
// truncated frames, wrong MACs, abrupt closes, misbehaving token holders) keep at it; the agent's
// RSS, open descriptors and threads sampled once a second from /proc. Writes a JSON result and
// prints it as a Markdown table; exits 1 when a correct client failed, the agent died, or its
// descriptors did not come back to where they started.
//
//   thanos_agent_soak --seconds 600 --out docs/results/agent_soak.json [--thanos build/thanos]
//
// 127.0.0.1 only: the hostile clients bind other loopback addresses (127.0.0.2-9) as their source
// where this machine allows it, so the agent's per-address limits see several peers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "loopback_source.h"
#include "test_util.h"
#include "thanos/common/frame_codec.h"
#include "thanos/common/poll_deadline.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/hw/agent.h"
#include "thanos/hw/measurement_json.h"

namespace thanos {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kToken = "agent-soak-token-0123456789abcdef";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// What every client thread reports, under one mutex (counts are small, contention is not).
struct Tally {
  std::mutex mutex;
  std::map<std::string, long> attempts;   // per client kind
  std::map<std::string, int> clients;     // threads per client kind
  long correct_ok = 0, correct_failed = 0;
  std::vector<double> correct_latency_s;  // each correct request, end to end
  std::vector<std::string> failures;      // the first few correct-client errors, verbatim
  void count(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex);
    ++attempts[kind];
  }
};

using testing::can_bind;
using testing::connect_from;

// Reads and discards until the agent closes or `timeout_s` passes (bounded in bytes too).
void drain_until_closed(int fd, double timeout_s) {
  const Deadline deadline = deadline_after(timeout_s);
  char buf[4096];
  for (std::size_t total = 0; total < (1u << 22);) {
    if (!wait_ready(fd, POLLIN, deadline).ok()) return;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    total += static_cast<std::size_t>(n);
  }
}

bool sleep_unless(const std::atomic<bool>& stop, double seconds) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!stop && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return !stop;
}

// The hello's nonce, then an auth message with the right proof (token holders) or a wrong one.
bool authenticate(int fd, const std::string& token) {
  const json hello = agent::recv_frame(fd, 10, 10);
  if (hello.value("type", "") != "hello") return false;
  const std::string server_nonce = agent::from_hex(hello.value("server_nonce", ""), "hello");
  const std::string client_nonce = agent::random_bytes(agent::kNonceBytes);
  agent::send_frame(fd,
                    {{"type", "auth"},
                     {"version", agent::kProtocolVersion},
                     {"client_nonce", agent::to_hex(client_nonce)},
                     {"mac", agent::to_hex(agent::client_proof(token, server_nonce, client_nonce))}},
                    10);
  return agent::recv_frame(fd, 15, 10).value("type", "") == "welcome";
}

MeasureRequest tiny_request() {
  const SearchSpace space = testing::tiny_space();
  MeasureRequest r;
  r.config = space.smallest();
  r.hyper = space.hyper;
  r.protocol = latency_protocol_preset("quick");
  r.protocol.vocab_size = 64;
  r.protocol.warmups = 0;
  r.protocol.repeats = 2;
  r.run.threads = 1;
  return r;
}

// ------------------------------------------------------------------ the clients

// Measures in a loop; `fresh`: a new connection (and handshake) for every request.
void correct_client(int port, bool fresh, const std::atomic<bool>& stop, Tally& tally) {
  const std::string address = "remote://127.0.0.1:" + std::to_string(port);
  RemoteOptions options;
  options.measure_timeout_s = 120;
  std::unique_ptr<RemoteBackend> client;
  const MeasureRequest request = tiny_request();
  while (!stop) {
    if (!client || fresh) client = std::make_unique<RemoteBackend>(address, kToken, options);
    const auto t0 = Clock::now();
    std::string error;
    try {
      const Measurement m = client->measure(request);
      if (!m.feasible) error = "infeasible: " + m.infeasible_reason;
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard<std::mutex> lock(tally.mutex);
    ++tally.attempts[fresh ? "correct (new connection each)" : "correct (kept connection)"];
    if (error.empty()) {
      ++tally.correct_ok;
      tally.correct_latency_s.push_back(seconds_since(t0));
    } else {
      ++tally.correct_failed;
      if (tally.failures.size() < 10) tally.failures.push_back(error);
    }
  }
}

// Connects, reads the hello, says nothing until the agent closes (its handshake timeout or a
// newer connection taking the slot), then comes back after `pause_s`.
void silent_client(int port, const std::string& source, double pause_s, const std::atomic<bool>& stop, Tally& tally) {
  while (!stop) {
    Fd fd = connect_from(source, port);
    tally.count("silent");
    if (fd.valid()) {
      const auto t0 = Clock::now();
      while (!stop && seconds_since(t0) < 30) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) > 0) {
          char buf[512];
          if (::recv(fd.get(), buf, sizeof(buf), 0) <= 0) break;  // the hello, then an error or the close
        }
      }
    }
    if (!sleep_unless(stop, pause_s)) break;
  }
}

// Announces a frame, then sends it one byte per `interval_s` (slowloris).
void slow_client(int port, const std::string& source, double interval_s, const std::atomic<bool>& stop, Tally& tally) {
  while (!stop) {
    Fd fd = connect_from(source, port);
    tally.count("slowloris");
    if (fd.valid()) {
      const std::string payload = std::string("{\"type\":\"auth\",\"version\":1,\"client_nonce\":\"") + std::string(400, 'a');
      std::string bytes = frame_prefix(static_cast<std::uint32_t>(payload.size() + 100)) + payload;
      for (std::size_t i = 0; i < bytes.size() && !stop; ++i) {
        if (::send(fd.get(), &bytes[i], 1, MSG_NOSIGNAL) != 1) break;
        if (!sleep_unless(stop, interval_s)) break;
      }
    }
    if (!sleep_unless(stop, 0.1)) break;
  }
}

// One hostile act per connection, cycling through the kinds; `token`: also after a login.
void hostile_client(int port, const std::string& source, bool with_token, unsigned seed, const std::atomic<bool>& stop,
                    Tally& tally) {
  std::mt19937 rng(seed);
  const std::string deep = std::string(70000, '[') + std::string(70000, ']');
  const std::vector<std::string> kinds = {"deep nesting",     "oversize length prefix", "garbage payload", "truncated frame",
                                          "unframed garbage", "wrong MAC",             "connect and reset"};
  const std::vector<std::string> after_login = {"deep nesting after login", "oversize prefix after login",
                                                "unknown type after login", "malformed measure after login",
                                                "request beyond the limits"};
  std::size_t turn = 0;
  while (!stop) {
    Fd fd = connect_from(source, port);
    if (!fd.valid()) {
      sleep_unless(stop, 0.2);
      continue;
    }
    const int f = fd.get();
    std::string kind;
    try {
      if (with_token) {
        kind = after_login[turn++ % after_login.size()];
        if (!authenticate(f, kToken)) {
          kind += " (not logged in: busy)";
        } else if (kind == "deep nesting after login") {
          agent::send_all(f, frame_prefix(static_cast<std::uint32_t>(deep.size())) + deep, 10);
        } else if (kind == "oversize prefix after login") {
          agent::send_all(f, frame_prefix(0xfffffff0u), 10);
        } else if (kind == "unknown type after login") {
          agent::send_frame(f, {{"type", "reboot"}}, 10);
        } else if (kind == "malformed measure after login") {
          agent::send_frame(f, {{"type", "measure"}, {"request", {{"config", 3}}}}, 10);
        } else {
          MeasureRequest r = tiny_request();
          r.protocol.beam = 100000;
          agent::send_frame(f, {{"type", "measure"}, {"request", request_to_json(r)}}, 10);
          agent::recv_frame(f, 10, 10);  // bad-request; the connection stays, so say bye
          agent::send_frame(f, {{"type", "bye"}}, 10);
        }
      } else {
        kind = kinds[turn++ % kinds.size()];
        agent::recv_frame(f, 10, 10);  // the hello
        if (kind == "deep nesting") {
          agent::send_all(f, frame_prefix(static_cast<std::uint32_t>(deep.size())) + deep, 10);
        } else if (kind == "oversize length prefix") {
          agent::send_all(f, frame_prefix(0x7fffffffu), 10);
        } else if (kind == "garbage payload") {
          std::string junk(1 + rng() % 2000, '\0');
          for (auto& c : junk) c = static_cast<char>(rng());
          agent::send_all(f, frame_prefix(static_cast<std::uint32_t>(junk.size())) + junk, 10);
        } else if (kind == "truncated frame") {
          agent::send_all(f, frame_prefix(500) + "{\"type\":\"auth\",", 10);
          fd.reset();  // gone mid-frame
        } else if (kind == "unframed garbage") {
          agent::send_all(f, "GET / HTTP/1.1\r\nHost: board\r\n\r\n", 10);
        } else if (kind == "wrong MAC") {
          authenticate(f, "not the token");
        } else {
          linger l{1, 0};  // close with a reset
          ::setsockopt(f, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
          fd.reset();
        }
      }
    } catch (const std::exception&) {
      // The agent closing on us is what most of these should end in.
    }
    if (fd.valid()) drain_until_closed(fd.get(), 15);
    tally.count(kind);
    tally.count(with_token ? "hostile token holder" : "hostile frames");
    sleep_unless(stop, 0.05);  // a flood, not a busy loop: the agent's log and the CPU stay usable
  }
}

// ------------------------------------------------------------------ sampling /proc

struct Sample {
  double t_s = 0;
  long rss_kib = 0;
  int fds = 0;
  int threads = 0;
};

long status_field(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

int count_fds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

Sample sample(pid_t pid, Clock::time_point start) {
  return {seconds_since(start), status_field(pid, "VmRSS"), count_fds(pid), static_cast<int>(status_field(pid, "Threads"))};
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// "12.3" with one decimal.
std::string fixed1(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", x);
  return buf;
}

int run(int argc, char** argv) {
  double seconds = 60;
  std::string out, thanos = THANOS_BINARY;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      return argv[++i];
    };
    if (a == "--seconds") {
      seconds = std::stod(value());
    } else if (a == "--out") {
      out = value();
    } else if (a == "--thanos") {
      thanos = value();
    } else {
      throw std::invalid_argument("unknown option " + a + " (expected --seconds S --out FILE [--thanos PATH])");
    }
  }
  if (!(seconds > 0 && seconds <= 3600)) throw std::invalid_argument("--seconds: expected 0 < S <= 3600");
  std::signal(SIGPIPE, SIG_IGN);

  TempDir dir("agent-soak");
  const std::string token_file = dir.path() + "/token", log_file = dir.path() + "/agent.log";
  write_file_atomically(token_file, kToken + "\n");
  ::chmod(token_file.c_str(), 0600);
  const std::string load_before = load_average();
  SpawnOptions streams;
  streams.out = ChildStream::pipe();
  streams.err = ChildStream::file(log_file);
  const std::vector<std::string> agent_args = {thanos, "--threads", "1", "agent", "--listen", "127.0.0.1:0", "--token-file",
                                               token_file, "--max-clients", "4", "--max-handshakes", "16",
                                               "--max-handshakes-per-address", "4", "--max-timeout-s", "120"};
  Child agent = spawn_child(agent_args, streams);
  std::string line;
  const Deadline ready = deadline_after(120);
  while (line.find('\n') == std::string::npos && wait_ready(agent.out().get(), POLLIN, ready).ok()) {
    char c[256];
    const ssize_t n = ::read(agent.out().get(), c, sizeof(c));
    if (n <= 0) break;
    line.append(c, static_cast<std::size_t>(n));
  }
  const std::string prefix = "thanos agent: listening on 127.0.0.1:";
  if (line.compare(0, prefix.size(), prefix) != 0) throw std::runtime_error("the agent did not start: " + line + read_text_file(log_file));
  const int port = std::stoi(line.substr(prefix.size()));
  const pid_t pid = agent.pid();
  const auto start = Clock::now();
  std::vector<Sample> samples = {sample(pid, start)};  // before any client

  // Other loopback addresses as the hostile peers' sources, where the kernel lets us bind them.
  std::vector<std::string> others;
  for (int i = 2; i <= 9; ++i) {
    if (can_bind("127.0.0." + std::to_string(i))) others.push_back("127.0.0." + std::to_string(i));
  }
  auto other = [&](std::size_t i) { return others.empty() ? std::string("127.0.0.1") : others[i % others.size()]; };

  Tally tally;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto add = [&](const std::string& kind, std::function<void()> body) {
    ++tally.clients[kind];
    threads.emplace_back(std::move(body));
  };
  add("correct (kept connection)", [&] { correct_client(port, false, stop, tally); });
  add("correct (new connection each)", [&] { correct_client(port, true, stop, tally); });
  // Two silent clients share the correct clients' address, reconnecting a second after the
  // agent closed them; twelve more come from the other addresses and are back after 50 ms, so
  // that with the slow and hostile ones they overfill the 16 handshake slots all the time.
  for (int i = 0; i < 2; ++i) add("silent", [&] { silent_client(port, "127.0.0.1", 1.0, stop, tally); });
  for (std::size_t i = 0; i < 12; ++i) add("silent", [&, i] { silent_client(port, other(i), 0.05, stop, tally); });
  for (std::size_t i = 0; i < 3; ++i) add("slowloris", [&, i] { slow_client(port, other(i + 3), 0.5, stop, tally); });
  for (std::size_t i = 0; i < 3; ++i) {
    add("hostile frames", [&, i] { hostile_client(port, other(i + 5), false, 17 + static_cast<unsigned>(i), stop, tally); });
  }
  add("hostile token holder", [&] { hostile_client(port, "127.0.0.1", true, 99, stop, tally); });

  bool crashed = false;
  while (seconds_since(start) < seconds) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (agent.try_reap()) {
      crashed = true;
      break;
    }
    samples.push_back(sample(pid, start));
  }
  stop = true;
  for (auto& t : threads) t.join();
  // The agent notices the last connections go (its accept loop reaps every 0.2 s; a closing
  // connection lingers up to 1 s), then should hold what it held before the first client.
  Sample settled;
  if (!crashed) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    crashed = agent.try_reap();
    if (!crashed) settled = sample(pid, start);
  }
  int exit_status = -1;
  if (!crashed) {
    ::kill(pid, SIGTERM);
    const int status = agent.wait();
    exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    exit_status = WIFEXITED(agent.status()) ? WEXITSTATUS(agent.status()) : 128 + WTERMSIG(agent.status());
  }
  const std::string load_after = load_average();

  auto stat = [&](auto member) {
    long first = samples.front().*member, last = samples.back().*member, most = first;
    for (const auto& s : samples) most = std::max<long>(most, s.*member);
    return json{{"first", first}, {"max", most}, {"last", last}, {"settled", crashed ? -1 : static_cast<long>(settled.*member)}};
  };
  const json rss = stat(&Sample::rss_kib), fds = stat(&Sample::fds), nthreads = stat(&Sample::threads);
  // Every 30th sample (about every 30 s) and the last: whether RSS and descriptors stay flat
  // after the first minute, not only their extremes.
  json timeline = json::array();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i % 30 != 0 && i + 1 != samples.size()) continue;
    const Sample& x = samples[i];
    timeline.push_back({{"t_s", std::round(x.t_s)}, {"rss_kib", x.rss_kib}, {"open_fds", x.fds}, {"threads", x.threads}});
  }
  // RSS a minute in (the allocator's arenas and thread stacks are warm by then) against the end.
  const Sample& minute = samples[std::min<std::size_t>(60, samples.size() - 1)];
  json attempts = json::object(), clients = json::object();
  for (const auto& [k, v] : tally.attempts) attempts[k] = v;
  for (const auto& [k, v] : tally.clients) clients[k] = v;
  const bool fds_back = !crashed && settled.fds <= samples.front().fds;
  const bool ok = !crashed && exit_status == 0 && tally.correct_failed == 0 && tally.correct_ok > 0 && fds_back;
  json result = {{"command", "thanos_agent_soak --seconds " + fixed1(seconds)},
                 {"duration_s", std::round(seconds_since(start))},
                 {"load_before", load_before},
                 {"load_after", load_after},
                 {"cores", std::thread::hardware_concurrency()},
                 {"source_addresses", 1 + others.size()},
                 {"agent_args", std::vector<std::string>(agent_args.begin() + 1, agent_args.end())},
                 {"clients", clients},
                 {"attempts", attempts},
                 {"correct_ok", tally.correct_ok},
                 {"correct_failed", tally.correct_failed},
                 {"correct_failures", tally.failures},
                 {"correct_latency_s",
                  {{"p50", percentile(tally.correct_latency_s, 0.5)},
                   {"p90", percentile(tally.correct_latency_s, 0.9)},
                   {"p99", percentile(tally.correct_latency_s, 0.99)},
                   {"max", percentile(tally.correct_latency_s, 1.0)}}},
                 {"rss_kib", rss},
                 {"open_fds", fds},
                 {"threads", nthreads},
                 {"samples", samples.size()},
                 {"timeline", timeline},
                 {"crashed", crashed},
                 {"agent_exit_status", exit_status},
                 {"agent_log_lines", 0},
                 {"passed", ok}};
  {
    std::ifstream log(log_file);
    long lines = 0;
    for (std::string l; std::getline(log, l);) ++lines;
    result["agent_log_lines"] = lines;
  }
  if (!out.empty()) write_file_atomically(out, result.dump(2) + "\n");

  // The table docs/RELIABILITY.md shows.
  std::ostringstream t;
  t << "| figure | value |\n|---|---|\n";
  t << "| duration | " << result["duration_s"] << " s (load before " << load_before << ", after " << load_after << ", "
    << std::thread::hardware_concurrency() << " cores) |\n";
  for (const auto& [k, v] : tally.clients) {
    t << "| clients: " << k << " | " << v << " threads, " << tally.attempts[k] << " connections/requests |\n";
  }
  for (const auto& [k, v] : tally.attempts) {
    if (!tally.clients.count(k)) t << "| hostile act: " << k << " | " << v << " |\n";
  }
  t << "| correct requests served / failed | " << tally.correct_ok << " / " << tally.correct_failed << " |\n";
  t << "| correct request latency p50 / p90 / p99 / max | " << fixed1(1000 * percentile(tally.correct_latency_s, 0.5)) << " / "
    << fixed1(1000 * percentile(tally.correct_latency_s, 0.9)) << " / " << fixed1(1000 * percentile(tally.correct_latency_s, 0.99))
    << " / " << fixed1(1000 * percentile(tally.correct_latency_s, 1.0)) << " ms |\n";
  auto row = [&](const std::string& name, const json& j, const std::string& unit) {
    t << "| " << name << " first / max / last / settled | " << j["first"] << " / " << j["max"] << " / " << j["last"] << " / "
      << j["settled"] << unit << " |\n";
  };
  row("agent RSS", rss, " KiB");
  t << "| agent RSS at " << std::lround(minute.t_s) << " s / at the end | " << minute.rss_kib << " / " << samples.back().rss_kib
    << " KiB |\n";
  row("agent open descriptors", fds, "");
  row("agent threads", nthreads, "");
  t << "| agent crashed / exit status after SIGTERM | " << (crashed ? "yes" : "no") << " / " << exit_status << " |\n";
  t << "| verdict | " << (ok ? "passed" : "FAILED") << " |\n";
  std::cout << t.str();
  for (const auto& f : tally.failures) std::cout << "correct client failure: " << f << "\n";
  if (!ok) std::cerr << "agent log: " << log_file << " (kept only while this runs)\n" << read_text_file(log_file).substr(0, 4000);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace thanos

int main(int argc, char** argv) {
  try {
    return thanos::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "thanos_agent_soak: " << e.what() << "\n";
    return 2;
  }
}
