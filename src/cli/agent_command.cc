// `thanos agent`: the measurement agent for an edge board (docs/AGENT.md).
#include <atomic>
#include <csignal>
#include <iostream>

#include "command.h"
#include "thanos/common/signal_scope.h"
#include "thanos/hw/agent.h"
#include "thanos/hw/measurement_json.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/isolated_backend.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/export/rknn_backend.h"
#endif

namespace thanos::cli {
namespace {
// --rknn's settings (export/rknn_backend.h's RknnBackendOptions, which needs the ONNX build).
struct RknnBackendOptionsForCli {
  std::string python = "python3";
  std::string cache_dir;
  std::string core_mask = "auto";
};
}  // namespace
namespace {

// "PORT" alone means loopback: exposing the agent to the network must be spelled out.
agent::HostPort listen_address(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return agent::parse_host_port("127.0.0.1:" + text, "--listen", /*allow_port_zero=*/true);
  }
  return agent::parse_host_port(text, "--listen", /*allow_port_zero=*/true);
}

}  // namespace

Command add_agent_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "agent", "Serve measurements of this machine to `remote://HOST:PORT` clients, authenticated with a shared "
               "token (docs/AGENT.md). Prints `thanos agent: listening on HOST:PORT` first.");
  auto listen = std::make_shared<std::string>();
  auto token_file = std::make_shared<std::string>();
  auto opt = std::make_shared<AgentOptions>();
  app->add_option("--listen", *listen,
                  "HOST:PORT to listen on; PORT alone means 127.0.0.1:PORT (loopback). Use 0.0.0.0:PORT to accept "
                  "other machines, and port 0 to let the system pick a free port")
      ->required();
  app->add_option("--token-file", *token_file,
                  "File holding the shared token (trailing whitespace ignored; keep it mode 600). Clients prove "
                  "they hold the same token; it never crosses the network")
      ->required();
  // What a client may ask of the board (hw/agent_limits.h): replaced or capped ...
  app->add_option("--threads", opt->limits.threads,
                  "Intra-op threads of every measurement, whatever the client asks (default: the client's)")
      ->check(CLI::Range(1, kMaxRequestThreads));
  app->add_option("--memory-cap-mib", opt->limits.memory_cap_mib,
                  "Memory cap of every measurement in MiB; a client may ask for less, never more or none (default: the "
                  "client's)")
      ->check(CLI::PositiveNumber);
  app->add_option("--max-timeout-s", opt->limits.max_timeout_s,
                  "Longest a measurement may run, in seconds; a client may ask for less, never more or none (a "
                  "request without a timeout gets this one)")
      ->check(CLI::Range(1.0, 86400.0))->capture_default_str();
  // ... or refused beyond (the client hears field, value and limit; 0 = no limit).
  app->add_option("--max-threads", opt->limits.max_threads,
                  "Most intra-op and inter-op threads a client may ask for; more is refused (default 0: up to " +
                      std::to_string(kMaxRequestThreads) + ")")
      ->check(CLI::Range(0, kMaxRequestThreads))->capture_default_str();
  app->add_option("--max-beam", opt->limits.max_beam, "Largest beam a client may ask for; more is refused (0 = no limit)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app->add_option("--max-src-len", opt->limits.max_src_len,
                  "Longest dummy source a client may ask for; longer is refused (0 = no limit)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app->add_option("--max-tgt-len", opt->limits.max_tgt_len,
                  "Most decoder steps a client may ask for; more are refused (0 = no limit)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app->add_option("--max-vocab-size", opt->limits.max_vocab_size,
                  "Largest vocabulary a client may ask for; larger is refused (0 = no limit)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  auto rknn = std::make_shared<bool>(false);
  auto rknn_options = std::make_shared<RknnBackendOptionsForCli>();
  app->add_flag("--rknn", *rknn, "Also measure on this board's RK3588 NPU (requests with --backend rknn): rknn-toolkit2 "
                                 "converts, rknn-toolkit-lite2 runs (docs/DEPLOY.md)");
  app->add_option("--python", rknn_options->python, "--rknn: the Python that has Rockchip's packages")->capture_default_str();
  app->add_option("--rknn-cache", rknn_options->cache_dir, "--rknn: where converted models are kept (default ~/.cache/thanos/rknn)");
  app->add_option("--core-mask", rknn_options->core_mask, "--rknn: NPU cores auto | 0 | 1 | 2 | 0_1 | 0_1_2")->capture_default_str();
  app->add_option("--max-clients", opt->max_clients,
                  "Authenticated clients served at once; one more that proves the token is refused as busy")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app->add_option("--max-handshakes", opt->max_handshakes,
                  "Connections that have not proved the token yet, at once; when full, a new one replaces the oldest "
                  "of the address holding the most (unauthenticated peers never take the clients' slots)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app->add_option("--max-handshakes-per-address", opt->max_handshakes_per_address,
                  "Handshakes in progress from one address; a new one from it replaces its oldest")
      ->check(CLI::PositiveNumber)->capture_default_str();
  return {app, [=]() {
            std::vector<std::string> warnings;
            AgentOptions options = *opt;
            options.listen = listen_address(*listen);
            options.token = read_token_file(*token_file, &warnings);
            print_warnings(warnings);
            options.devices = {"cpu"};
            if (device_available("cuda")) options.devices.push_back("cuda");
            // A client that vanishes mid-reply must not kill the agent (sends also use MSG_NOSIGNAL).
            std::signal(SIGPIPE, SIG_IGN);
            // Each measurement in a fresh `thanos measure-worker` of this very binary: a peak-memory
            // figure of its own, and a candidate killed by the memory cap costs a worker, not the agent.
            const std::unique_ptr<Backend> isolated = make_isolated_backend(this_thanos_binary());
            Backend* backend = isolated.get();
#ifdef THANOS_WITH_ONNX
            std::unique_ptr<RknnBackend> npu;
            std::unique_ptr<DeviceRoutingBackend> routing;
            if (*rknn) {
              npu = std::make_unique<RknnBackend>(RknnBackendOptions{rknn_options->python, rknn_options->cache_dir, rknn_options->core_mask});
              routing = std::make_unique<DeviceRoutingBackend>(*isolated, *npu);
              backend = routing.get();
              options.devices.push_back("rknn");
            }
#else
            if (*rknn) throw std::invalid_argument("--rknn: this build has no ONNX export (install libonnx-dev and rebuild)");
#endif
            AgentServer server(*backend, options);
            // The first line of stdout, flushed: scripts and tests read the port picked for port 0.
            std::cout << "thanos agent: listening on " << server.address() << std::endl;
            if (options.listen.host != "127.0.0.1" && options.listen.host != "localhost" &&
                options.listen.host != "::1") {
              print_warnings({"listening beyond loopback: the token authenticates clients, but traffic is not "
                              "encrypted; over untrusted networks use an SSH tunnel or a VPN (docs/AGENT.md)"});
            }
            std::atomic<bool> stop_requested{false};
            {
              const StopSignalScope signals(stop_requested);
              server.serve(&stop_requested);
            }
            std::cerr << "thanos agent: stopped\n";
            return 0;
          }};
}

}  // namespace thanos::cli
