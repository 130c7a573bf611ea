// Implementation of the daemon lifecycle (see daemon.h).
#include "gateway/daemon/daemon.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_server.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/core/systemd_notify.h"
#include "gateway/daemon/admin_routes.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/registry.h"
#include "gateway/queue/inbox.h"
#include "gateway/store/phr_store.h"

#ifndef PHRGATE_VERSION
#define PHRGATE_VERSION "0.0.0"
#endif
#ifndef PHRGATE_DEFAULT_MAPPINGS_DIR
#define PHRGATE_DEFAULT_MAPPINGS_DIR "/usr/share/phrgate/mappings"
#endif

namespace phrgate::daemon {
namespace {

http::Role parse_role(const std::string& r) {
  if (r == "admin") return http::Role::Admin;
  if (r == "operator") return http::Role::Operator;
  if (r == "ingest") return http::Role::Ingest;
  return http::Role::Reader;
}

}  // namespace

int run_daemon(const config::GatewayConfig& cfg) {
  auto started = std::chrono::steady_clock::now();
  log::Level level;
  if (log::parse_level(cfg.log_level, level)) log::set_level(level);
  log::set_json(cfg.log_format != "text");

  // Signals are blocked in every thread until the io_context's signal_set owns them.
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    log::error("daemon.data_dir", {{"path", cfg.data_dir}, {"error", ec.message()}});
    return 1;
  }

  std::string mappings_dir = cfg.mappings_dir.empty() ? PHRGATE_DEFAULT_MAPPINGS_DIR : cfg.mappings_dir;
  // Every load is snapshotted under <data_dir>/mapping-versions/<version>/ for replays.
  mapping::MappingVersions mapping_versions(mappings_dir, cfg.data_dir + "/mapping-versions");
  std::shared_ptr<const mapping::CodeMaps> code_maps;
  std::unique_ptr<mapping::UnmappedCodeStore> unmapped_codes;
  std::unique_ptr<queue::Inbox> inbox;
  std::unique_ptr<store::PhrStore> store;
  try {
    mapping::ReloadResult loaded = mapping_versions.reload();
    for (const auto& e : loaded.errors) log::error("mappings.invalid", {{"error", e}});
    if (!loaded.ok)
      throw std::runtime_error("mapping tables in " + mappings_dir + " could not be loaded (see the errors above)");
    code_maps = mapping_versions.current();
    // Its own file: the inbox's file has a single writer thread (see unmapped_codes.h).
    unmapped_codes = std::make_unique<mapping::UnmappedCodeStore>(cfg.data_dir + "/unmapped.db");
    queue::SqliteInboxOptions io;
    io.path = cfg.data_dir + "/inbox.db";
    io.max_batch = cfg.inbox_max_batch;
    io.max_delay = std::chrono::microseconds(cfg.inbox_max_delay_us);
    io.checkpoint_interval = std::chrono::milliseconds(cfg.inbox_checkpoint_interval_ms);
    inbox = queue::open_sqlite_inbox(io);
    store = store::open_sqlite_store(cfg.data_dir + "/phr.db");
  } catch (const std::exception& e) {
    log::error("daemon.start_failed", {{"error", e.what()}});
    return 1;
  }
  log::info("mappings.loaded", {{"dir", mappings_dir}, {"version", code_maps->version()},
                                {"rows", std::to_string(code_maps->size())}});

  metrics::Registry metrics;
  pipeline::Registry registry;
  pipeline::register_builtin_adapters(registry);
  boost::asio::io_context io;

  std::vector<std::unique_ptr<pipeline::Sink>> sinks;
  std::vector<std::unique_ptr<pipeline::Source>> sources;
  std::unique_ptr<pipeline::Pipeline> pipe;
  std::atomic<bool> shutting_down{false};
  // Read by the inbox's committer thread when a source's commit completes.
  std::atomic<pipeline::Pipeline*> pipe_ptr{nullptr};
  pipeline::SourceDeps source_deps{io, *inbox, metrics, [&pipe_ptr] {
                                     if (auto* p = pipe_ptr.load()) p->notify();
                                   }, cfg.data_dir};
  pipeline::SinkDeps sink_deps{*store, metrics};

  std::unique_ptr<http::HttpServer> http_server;
  std::unique_ptr<admin::FhirReadApi> fhir_api;
  AdminContext admin_ctx{*inbox, *store, metrics, sources, sinks, shutting_down};
  try {
    for (const auto& s : cfg.sinks) sinks.push_back(registry.sink(s.type)->create(s, sink_deps));
    std::map<std::string, pipeline::ConvertSettings> settings;
    for (const auto& s : cfg.sources) {
      sources.push_back(registry.source(s.type)->create(s, source_deps));
      settings[s.name] = sources.back()->convert_settings();
    }
    std::vector<pipeline::Sink*> sink_ptrs;
    for (auto& s : sinks) sink_ptrs.push_back(s.get());
    pipeline::PipelineOptions po;
    po.batch_size = cfg.pipeline_batch_size;
    po.retry_delay = std::chrono::milliseconds(cfg.pipeline_retry_delay_ms);
    po.unmapped_codes = unmapped_codes.get();
    pipe = std::make_unique<pipeline::Pipeline>(*inbox, registry, sink_ptrs, settings, code_maps, metrics, po);
    pipe_ptr = pipe.get();
    // Reloads (SIGHUP, POST /api/mappings/reload) reach the pipeline in load order.
    mapping_versions.subscribe([p = pipe.get()](const std::shared_ptr<const mapping::CodeMaps>& maps) {
      p->set_code_maps(maps);
    });
    admin_ctx.mappings = &mapping_versions;
    admin_ctx.unmapped = unmapped_codes.get();
    admin_ctx.pipeline = pipe.get();

    metrics.gauge("phrgate_inbox_depth", "Messages committed but not yet converted and delivered", "",
                  [&inbox] { return static_cast<double>(inbox->stats().pending); });
    metrics.gauge("phrgate_inbox_oldest_pending_age_seconds", "Age of the oldest pending message", "",
                  [&inbox] { return inbox->stats().oldest_pending_age_s; });
    metrics.gauge("phrgate_inbox_failed", "Messages whose conversion or delivery failed (kept for replay)", "",
                  [&inbox] { return static_cast<double>(inbox->stats().failed); });
    metrics.gauge("phrgate_inbox_rejected", "Messages answered AE/AR (kept for an operator)", "",
                  [&inbox] { return static_cast<double>(inbox->stats().rejected); });

    http::HttpServerOptions ho;
    ho.bind_address = cfg.http.listen;
    ho.port = cfg.http.port;
    ho.max_body_bytes = cfg.http.max_body_bytes;
    if (cfg.http.tls) ho.tls = http::TlsFiles{cfg.http.tls->cert_file, cfg.http.tls->key_file};
    for (const auto& t : cfg.http.tokens) ho.tokens.push_back({t.name, t.sha256_hex, parse_role(t.role)});
    http_server = std::make_unique<http::HttpServer>(io, ho);
    admin::FhirReadApiOptions fo;
    fo.software_version = PHRGATE_VERSION;
    fhir_api = std::make_unique<admin::FhirReadApi>(*store, fo);
    add_admin_routes(*http_server, admin_ctx, *fhir_api);

    pipe->start();
    http_server->start();
    log::info("http.listening", {{"port", std::to_string(http_server->port())},
                                 {"tls", cfg.http.tls ? "on" : "off"}});
    for (auto& s : sources) s->start();
  } catch (const std::exception& e) {
    log::error("daemon.start_failed", {{"error", e.what()}});
    if (pipe) pipe->stop();
    return 1;
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::thread shutdown_thread;
  std::function<void()> wait_signal;
  wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& err, int sig) {
      if (err) return;
      if (sig == SIGHUP) {
        reload_mappings(mapping_versions, "SIGHUP");  // logs mappings.reloaded / reload_refused
        wait_signal();
        return;
      }
      if (shutting_down.exchange(true)) return;
      log::info("daemon.stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      systemd::notify("STOPPING=1\nSTATUS=draining in-flight messages");
      // Draining waits for in-flight work; do it off the I/O threads so they keep serving.
      shutdown_thread = std::thread([&] {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg.shutdown_timeout_s);
        for (auto& s : sources) s->stop_accepting();
        for (auto& s : sources) s->drain(deadline);
        inbox->flush();
        pipe->stop();
        http_server->stop();
        signals.cancel();
        io.stop();
      });
    });
  };
  wait_signal();

  auto ready_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string ports;
  for (const auto& s : sources) {
    auto st = s->status();
    if (!ports.empty()) ports += ",";
    ports += st.name + ":" + st.listening;
  }
  log::info("daemon.ready", {{"version", PHRGATE_VERSION}, {"http_port", std::to_string(http_server->port())},
                             {"sources", ports}, {"startup_ms", std::to_string(ready_ms)}});

  systemd::notify("READY=1\nSTATUS=accepting messages");
  // Watchdog keep-alives come from the I/O loop itself: if it hangs, systemd restarts us.
  boost::asio::steady_timer watchdog(io);
  std::function<void()> keep_alive;
  if (auto interval = systemd::watchdog_interval(); interval.count() > 0) {
    keep_alive = [&, interval] {
      systemd::notify("WATCHDOG=1");
      watchdog.expires_after(interval / 2);
      watchdog.async_wait([&](const boost::system::error_code& err) {
        if (!err && !shutting_down) keep_alive();
      });
    };
    keep_alive();
  }

  std::thread second_io([&io] { io.run(); });
  io.run();
  second_io.join();
  if (shutdown_thread.joinable()) shutdown_thread.join();
  // No commit callback may reach a source or the pipeline once they are gone.
  pipe_ptr = nullptr;
  inbox->flush();
  sources.clear();
  pipe.reset();
  http_server.reset();
  log::info("daemon.stopped", {});
  return 0;
}

}  // namespace phrgate::daemon
