// `thanos agent`: the measurement agent for an edge board (docs/AGENT.md).
#include <csignal>
#include <iostream>

#include "command.h"
#include "thanos/hw/agent.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/isolated_backend.h"

namespace thanos::cli {
namespace {

// The running server, for the signal handler: stop() only stores an atomic flag and writes one
// byte to a pipe, both async-signal-safe.
AgentServer* g_server = nullptr;

extern "C" void stop_on_signal(int) {
  if (g_server) g_server->stop();
}

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
  app->add_option("--threads", opt->threads,
                  "Intra-op threads of every measurement, whatever the client asks (default: the client's)")
      ->check(CLI::PositiveNumber);
  app->add_option("--memory-cap-mib", opt->memory_cap_mib,
                  "Memory cap of every measurement in MiB; a client may ask for less, never more (default: the "
                  "client's)")
      ->check(CLI::PositiveNumber);
  app->add_option("--max-clients", opt->max_clients, "Connections served at once; more are refused")
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
            const std::unique_ptr<Backend> backend = make_isolated_backend(this_thanos_binary());
            AgentServer server(*backend, options);
            // The first line of stdout, flushed: scripts and tests read the port picked for port 0.
            std::cout << "thanos agent: listening on " << server.address() << std::endl;
            if (options.listen.host != "127.0.0.1" && options.listen.host != "localhost" &&
                options.listen.host != "::1") {
              print_warnings({"listening beyond loopback: the token authenticates clients, but traffic is not "
                              "encrypted; over untrusted networks use an SSH tunnel or a VPN (docs/AGENT.md)"});
            }
            g_server = &server;
            std::signal(SIGINT, stop_on_signal);
            std::signal(SIGTERM, stop_on_signal);
            server.serve();
            g_server = nullptr;
            std::cerr << "thanos agent: stopped\n";
            return 0;
          }};
}

}  // namespace thanos::cli
