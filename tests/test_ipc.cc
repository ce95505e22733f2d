// The process/IPC toolkit in common/: the owned descriptor, the frame codec (one byte order, a
// frame put together from pieces), socket I/O under a deadline, spawning children with pipes and
// socket pairs, and finding executables.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "thanos/common/fd.h"
#include "thanos/common/frame_codec.h"
#include "thanos/common/poll_deadline.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;

struct SocketPair {
  Fd a, b;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

void write_all(int fd, const std::string& bytes) {
  ASSERT_TRUE(send_all(fd, bytes.data(), bytes.size(), deadline_after(5)).ok());
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// Reads until end of file.
std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}


// ------------------------------------------------------------------------------------ Fd

TEST(Fd, ClosesOnceWhenMovedAndReleasesOnRequest) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const int raw = fds[0];
  {
    Fd a(raw);
    Fd b = std::move(a);
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
    Fd c;
    c = std::move(b);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));  // closed by the last owner

  Fd w(fds[1]);
  const int released = w.release();
  EXPECT_FALSE(w.valid());
  EXPECT_TRUE(is_open(released));
  w.reset(released);
  w.reset();
  EXPECT_FALSE(is_open(released));
}

// ------------------------------------------------------------------------------------ frames

TEST(FrameCodec, PrefixIsBigEndianAndRoundTrips) {
  EXPECT_EQ(frame_prefix(0x01020304), std::string("\x01\x02\x03\x04", 4));
  for (std::uint32_t n : {0u, 1u, 255u, 256u, 65536u, 0x7fffffffu, 0xffffffffu}) {
    const std::string p = frame_prefix(n);
    ASSERT_EQ(p.size(), kFramePrefixBytes);
    EXPECT_EQ(frame_length(reinterpret_cast<const unsigned char*>(p.data())), n);
  }
  EXPECT_EQ(encode_frame("abc"), std::string("\x00\x00\x00\x03" "abc", 7));
}

TEST(FrameCodec, FramesRoundTripThroughASocketBackToBack) {
  SocketPair s;
  std::string binary(300, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i);
  write_all(s.a.get(), encode_frame("{\"op\":\"hello\"}") + encode_frame("") + encode_frame(binary));
  for (const std::string& want : {std::string("{\"op\":\"hello\"}"), std::string(), binary}) {
    const FrameRead f = recv_frame(s.b.get(), 1024, deadline_after(5));
    ASSERT_TRUE(f.ok()) << static_cast<int>(f.io.status);
    EXPECT_TRUE(f.started);
    EXPECT_EQ(f.length, want.size());
    EXPECT_EQ(f.payload, want);
  }
}

TEST(FrameCodec, AFrameSplitAcrossReadsIsPutTogether) {
  SocketPair s;
  const std::string frame = encode_frame("split across several writes");
  // Pieces cut inside the prefix and inside the payload, each after a pause, so the reader sees
  // each as a separate read.
  std::thread writer([&] {
    for (const auto& [from, to] : std::vector<std::pair<std::size_t, std::size_t>>{{0, 1}, {1, 3}, {3, 9}, {9, frame.size()}}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      const std::string piece = frame.substr(from, to - from);
      send_all(s.a.get(), piece.data(), piece.size(), deadline_after(5));
    }
  });
  const FrameRead f = recv_frame(s.b.get(), 1024, deadline_after(5), 5);
  writer.join();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.payload, "split across several writes");
}

TEST(FrameCodec, AnOversizedLengthStopsAfterThePrefix) {
  SocketPair s;
  write_all(s.a.get(), frame_prefix(5000) + "rest");
  const FrameRead f = recv_frame(s.b.get(), 4096, deadline_after(5));
  EXPECT_TRUE(f.io.ok());
  EXPECT_TRUE(f.too_large);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.length, 5000u);
  EXPECT_TRUE(f.payload.empty());
  char rest[4];  // nothing of the payload was consumed
  ASSERT_TRUE(recv_exact(s.b.get(), rest, 4, deadline_after(5)).ok());
  EXPECT_EQ(std::string(rest, 4), "rest");
}

TEST(FrameCodec, IdlePeerStalledPeerAndClosedPeer) {
  {
    SocketPair s;  // idle: nothing arrives
    const FrameRead f = recv_frame(s.b.get(), 1024, deadline_after(0.1), 5);
    EXPECT_EQ(f.io.status, IoStatus::kTimeout);
    EXPECT_FALSE(f.started);
  }
  {
    SocketPair s;  // stalled after the first byte: the rest's own timeout applies
    write_all(s.a.get(), encode_frame("hello").substr(0, 6));
    const auto t0 = Clock::now();
    const FrameRead f = recv_frame(s.b.get(), 1024, deadline_after(5), 0.1);
    EXPECT_EQ(f.io.status, IoStatus::kTimeout);
    EXPECT_TRUE(f.started);
    EXPECT_LT(seconds_since(t0), 2.0);
  }
  {
    SocketPair s;  // closed mid-frame: an orderly end of stream, not an error
    write_all(s.a.get(), encode_frame("hello").substr(0, 7));
    s.a.reset();
    const FrameRead f = recv_frame(s.b.get(), 1024, deadline_after(5));
    EXPECT_EQ(f.io.status, IoStatus::kClosed);
    EXPECT_EQ(f.io.error, 0);
    EXPECT_TRUE(f.started);
  }
}

// ------------------------------------------------------------------------------------ deadlines

TEST(PollDeadline, TimeoutsAreComputedFromTheDeadline) {
  EXPECT_EQ(poll_timeout_ms(Clock::now() - std::chrono::seconds(1)), 0);
  const int ms = poll_timeout_ms(deadline_after(0.0101));
  EXPECT_GE(ms, 10);  // rounded up, not down to a busy 0
  EXPECT_LE(ms, 11);
  EXPECT_EQ(poll_timeout_ms(deadline_after(100), 250), 250);
}

TEST(PollDeadline, WaitingExpiresAtTheDeadline) {
  SocketPair s;
  const auto t0 = Clock::now();
  const IoResult r = wait_ready(s.b.get(), POLLIN, deadline_after(0.15));
  const double waited = seconds_since(t0);
  EXPECT_EQ(r.status, IoStatus::kTimeout);
  EXPECT_GE(waited, 0.14);
  EXPECT_LT(waited, 2.0);

  write_all(s.a.get(), "abc");
  char buf[8];
  const IoResult partial = recv_exact(s.b.get(), buf, 8, deadline_after(0.1));
  EXPECT_EQ(partial.status, IoStatus::kTimeout);
  EXPECT_EQ(partial.bytes, 3u);  // what did arrive is counted
  EXPECT_TRUE(wait_ready(s.a.get(), POLLOUT, deadline_after(1)).ok());
}

TEST(PollDeadline, ASenderTimesOutOnAPeerThatDoesNotRead) {
  SocketPair s;
  const std::string big(16u << 20, 'x');  // far beyond a socket buffer
  const IoResult r = send_all(s.a.get(), big.data(), big.size(), deadline_after(0.2));
  EXPECT_EQ(r.status, IoStatus::kTimeout);
  EXPECT_GT(r.bytes, 0u);
  EXPECT_LT(r.bytes, big.size());
}

TEST(PollDeadline, APeerThatWentAwayIsClosedNotASignal) {
  // SIGPIPE at its default action would end this test program on the write.
  const auto old = std::signal(SIGPIPE, SIG_DFL);
  SocketPair s;
  s.b.reset();
  const IoResult r = send_all(s.a.get(), "x", 1, deadline_after(1));
  EXPECT_EQ(r.status, IoStatus::kClosed);
  EXPECT_EQ(r.error, EPIPE);
  std::signal(SIGPIPE, old);

  SocketPair t;
  t.a.reset();
  char c;
  const IoResult eof = recv_exact(t.b.get(), &c, 1, deadline_after(1));
  EXPECT_EQ(eof.status, IoStatus::kClosed);
  EXPECT_EQ(eof.error, 0);
}

// ------------------------------------------------------------------------------------ children

TEST(Process, SpawnWithPipesFeedsStdinCollectsOutputAndExitCode) {
  SpawnOptions o;
  o.in = o.out = o.err = ChildStream::pipe();
  Child child = spawn_child({"sh", "-c", "read x; echo \"got $x\"; echo oops >&2; exit 3"}, o);
  EXPECT_GT(child.pid(), 0);
  const std::string line = "hi\n";
  ASSERT_EQ(::write(child.in().get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
  child.in().reset();  // end of its input
  EXPECT_EQ(read_to_end(child.out().get()), "got hi\n");
  EXPECT_EQ(read_to_end(child.err().get()), "oops\n");
  const int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_TRUE(child.reaped());
  EXPECT_TRUE(child.try_reap());
}

TEST(Process, SocketStreamsCarryFramesBothWays) {
  SpawnOptions o;
  o.in = o.out = ChildStream::socket();
  Child child = spawn_child({"cat"}, o);
  const std::string frame = encode_frame("echo me");
  ASSERT_TRUE(send_all(child.in().get(), frame.data(), frame.size(), deadline_after(5)).ok());
  const FrameRead f = recv_frame(child.out().get(), 64, deadline_after(5));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.payload, "echo me");
  child.in().reset();
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Process, FilesStderrAsStdoutAndRunProcess) {
  TempDir dir("ipc-test");
  const std::string log = dir.path() + "/log";
  SpawnOptions o;
  o.out = ChildStream::file(log);
  o.err = ChildStream::as_stdout();
  Child child = spawn_child({"sh", "-c", "echo out; echo err >&2"}, o);
  child.wait();
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "out\nerr\n");

  std::ofstream(dir.path() + "/in") << "line one\nline two\n";
  const ProcessResult r =
      run_process({"sh", "-c", "wc -l; echo complaint >&2; exit 5"}, dir.path() + "/in", dir.path() + "/out");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.stderr_text, "complaint\n");
  std::ifstream out(dir.path() + "/out");
  int lines = 0;
  out >> lines;
  EXPECT_EQ(lines, 2);

  // A working directory of its own; the stream paths are opened before the change.
  namespace fs = std::filesystem;
  fs::create_directories(dir.path() + "/elsewhere");
  const ProcessResult where = run_process({"sh", "-c", "pwd -P"}, "", dir.path() + "/pwd", dir.path() + "/elsewhere");
  EXPECT_EQ(where.exit_code, 0);
  EXPECT_EQ(read_text_file(dir.path() + "/pwd"), fs::canonical(dir.path() + "/elsewhere").string() + "\n");
}

TEST(Process, TheChildStartsWithCleanSignalsAndDiesWithItsOwner) {
  // Whatever this process ignores or blocks, the child starts with SIGPIPE at its default and no
  // blocked signals (/proc/PID/status: SigIgn and SigBlk are hexadecimal masks, bit n-1 = signal n).
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, &saved);
  pid_t pid = -1;
  {
    Child child = spawn_child({"sleep", "30"});
    pid = child.pid();
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    unsigned long long ignored = ~0ull, blocked = ~0ull;
    while (std::getline(status, line)) {
      if (line.rfind("SigIgn:", 0) == 0) ignored = std::stoull(line.substr(7), nullptr, 16);
      if (line.rfind("SigBlk:", 0) == 0) blocked = std::stoull(line.substr(7), nullptr, 16);
    }
    EXPECT_EQ(ignored & (1ull << (SIGPIPE - 1)), 0u);
    EXPECT_EQ(blocked, 0u);
    EXPECT_FALSE(child.try_reap());  // still sleeping
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  std::signal(SIGPIPE, old);
  // The destructor killed and reaped it: the pid names no process (no zombie) any more.
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_EQ(errno, ESRCH);
}

TEST(Process, AProgramThatIsNotThereIsASpawnError) {
  try {
    spawn_child({"thanos-no-such-program-anywhere"});
    FAIL() << "spawned a program that does not exist";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.error(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("cannot start thanos-no-such-program-anywhere"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_process({"/nonexistent/program"}), std::runtime_error);
}

TEST(Process, FindExecutableSearchesPathLikeAShell) {
  TempDir dir("ipc-path");
  const std::string tool = dir.path() + "/thanos-test-tool";
  const std::string plain = dir.path() + "/thanos-test-data";
  std::ofstream(tool) << "#!/bin/sh\necho tool ran\n";
  std::ofstream(plain) << "not a program\n";
  ::chmod(tool.c_str(), 0755);
  ::chmod(plain.c_str(), 0644);
  {
    const testing::ScopedEnv path("PATH", "/nonexistent:" + dir.path() + ":/usr/bin:/bin");
    EXPECT_EQ(find_executable("thanos-test-tool"), tool);
    EXPECT_EQ(find_executable("thanos-test-data"), "");  // not executable
    EXPECT_EQ(find_executable("thanos-no-such-program"), "");
    const std::string sh = find_executable("sh");
    ASSERT_FALSE(sh.empty());
    EXPECT_EQ(sh.substr(sh.size() - 3), "/sh");
    // spawn_child finds it the same way.
    SpawnOptions o;
    o.out = ChildStream::pipe();
    Child child = spawn_child({"thanos-test-tool"}, o);
    EXPECT_EQ(read_to_end(child.out().get()), "tool ran\n");
    child.wait();
  }
  EXPECT_EQ(find_executable(tool), tool);  // a path is taken as it is
  EXPECT_EQ(find_executable(plain), "");
  EXPECT_EQ(find_executable(""), "");
}

TEST(Process, TheRunningExecutableAndItsDirectory) {
  const std::string exe = current_executable_path();
  ASSERT_FALSE(exe.empty());
  EXPECT_EQ(exe.front(), '/');
  EXPECT_NE(exe.find("thanos_unit_tests"), std::string::npos) << exe;
  EXPECT_EQ(current_executable_dir() + "/" + exe.substr(exe.rfind('/') + 1), exe);
}

}  // namespace
}  // namespace thanos
