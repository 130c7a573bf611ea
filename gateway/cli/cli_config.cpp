// `phrgate run`, `phrgate check-config` and `phrgate version`.
#include <cstdio>

#include "gateway/cli/commands.h"
#include "gateway/core/config.h"
#include "gateway/daemon/daemon.h"

#ifndef PHRGATE_VERSION
#define PHRGATE_VERSION "0.0.0"
#endif

namespace phrgate::cli {
namespace {

std::optional<config::GatewayConfig> load_or_report(const std::string& path) {
  auto result = config::load_config_file(path, config::process_env());
  for (const auto& e : result.errors) std::fprintf(stderr, "%s: %s\n", path.c_str(), e.to_string().c_str());
  return std::move(result.config);
}

}  // namespace

int cmd_version() {
  std::printf("phrgate %s\n", PHRGATE_VERSION);
  return 0;
}

int cmd_check_config(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fputs("usage: phrgate check-config FILE\n", stderr);
    return 2;
  }
  auto cfg = load_or_report(args[0]);
  if (!cfg) return 1;
  std::printf("%s: OK (%zu source(s), %zu sink(s), %zu token(s))\n", args[0].c_str(), cfg->sources.size(),
              cfg->sinks.size(), cfg->http.tokens.size());
  return 0;
}

int cmd_run(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "--config") {
    std::fputs("usage: phrgate run --config FILE\n", stderr);
    return 2;
  }
  auto cfg = load_or_report(args[1]);
  if (!cfg) return 1;
  return daemon::run_daemon(*cfg);
}

}  // namespace phrgate::cli
