// Daemon: builds every piece from a validated GatewayConfig and runs until SIGTERM/SIGINT.
// Start order: data dir -> mapping tables -> inbox and store -> sinks -> pipeline -> HTTP
// port -> sources (listeners open last, so nothing is accepted before it can be committed).
// Stop order is the reverse: stop accepting, answer in-flight messages, flush the inbox,
// let the pipeline finish its batch, exit 0, all within the configured shutdown timeout.
// SIGHUP reloads the mapping tables, as POST /api/mappings/reload does (mapping_versions.h).
#pragma once

#include "gateway/core/config.h"

namespace phrgate::daemon {

// Runs the daemon; returns the process exit status.
int run_daemon(const config::GatewayConfig& config);

}  // namespace phrgate::daemon
