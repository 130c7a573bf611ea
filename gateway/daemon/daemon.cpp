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
#include "gateway/audit/audit_routes.h"
#include "gateway/audit/audit_trail.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/core/systemd_notify.h"
#include "gateway/daemon/admin_routes.h"
#include "gateway/identity/identity_linker.h"
#include "gateway/identity/identity_routes.h"
#include "gateway/identity/claim_routes.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/registry.h"
#include "gateway/queue/inbox.h"
#include "gateway/queue/retention.h"
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
  if (r == "phr") return http::Role::Phr;
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
  std::unique_ptr<audit::AuditTrail> audit_trail;  // <data_dir>/audit.db (gateway/audit)
  std::unique_ptr<identity::PersonIndex> person_index;      // <data_dir>/identity.db
  std::unique_ptr<identity::ClaimCodeBook> claim_book;      // <data_dir>/identity-claims.db
  std::unique_ptr<identity::IdentityLinker> identity_linker;  // the index in the pipeline
  std::atomic<pipeline::Pipeline*> replay_pipe{nullptr};      // set once the pipeline exists
  // What the store and the inbox follow after an identity change (HL7 A40/A08 in the pipeline,
  // operator merge/unlink): records move with their history kept.
  identity::IdentityEffects identity_effects;
  identity_effects.persons_merged = [&store](const std::string& from, const std::string& to) {
    const int64_t moved = store->reassign_person(from, to);
    log::info("identity.records_moved", {{"reason", "merge"}, {"resources", std::to_string(moved)}});
  };
  identity_effects.identifier_moved = [&store, &inbox, &replay_pipe, &mapping_versions](
                                          const identity::SourceIdentifier& id, const std::string& from,
                                          const std::string&) {
    if (!from.empty()) store->remove_patient_identifier(from, id.system, id.value);
    auto* p = replay_pipe.load();
    if (!p) return;
    // The identifier's messages are converted again: they now resolve to its new person, and
    // their resources (same ids) move there, each as a new version.
    queue::MessageFilter f;
    f.patient_value = id.value;
    f.patient_system = id.system;
    f.statuses = {queue::InboxStatus::Done};
    f.limit = 500;
    std::size_t replayed = 0;
    for (const auto& summary : inbox->query(f).rows)
      if (auto row = inbox->get(summary.id)) {
        p->replay(*row, mapping_versions.current());
        ++replayed;
      }
    log::info("identity.records_moved", {{"reason", "identifier moved"}, {"messages", std::to_string(replayed)}});
  };
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
    audit::AuditTrailOptions ao;
    ao.path = cfg.data_dir + "/audit.db";
    ao.role_of = [roles = cfg.http.tokens](std::string_view actor) {
      for (const auto& t : roles)
        if (t.name == actor) return t.role;
      return std::string();
    };
    audit_trail = std::make_unique<audit::AuditTrail>(std::move(ao));
    if (cfg.identity_enabled) {
      identity::MatchSettings ms;
      ms.upper_threshold = cfg.identity_upper_threshold;
      ms.lower_threshold = cfg.identity_lower_threshold;
      ms.synchronous_full = cfg.identity_synchronous_full;
      const std::string nicknames = mappings_dir + "/identity/nicknames.csv";
      if (std::filesystem::exists(nicknames)) {
        std::vector<std::string> errors;
        ms.nicknames = std::make_shared<identity::NicknameTable>(identity::NicknameTable::load_file(nicknames, &errors));
        for (const auto& e : errors) log::warn("identity.nicknames_invalid", {{"error", e}});
      } else {
        log::warn("identity.nicknames_missing", {{"path", nicknames}, {"action", "matching without nicknames"}});
      }
      person_index = identity::PersonIndex::open(cfg.data_dir + "/identity.db", ms);
      identity::ClaimCodeBookOptions claim_options;  // patients' claim codes (claim_codes.h)
      claim_options.path = cfg.data_dir + "/identity-claims.db";
      claim_book = std::make_unique<identity::ClaimCodeBook>(claim_options);
      identity_linker = std::make_unique<identity::IdentityLinker>(*person_index, cfg.data_dir + "/identity.db",
                                                                   identity_effects);
    }
  } catch (const std::exception& e) {
    log::error("daemon.start_failed", {{"error", e.what()}});
    return 1;
  }
  log::info("mappings.loaded", {{"dir", mappings_dir}, {"version", code_maps->version()},
                                {"rows", std::to_string(code_maps->size())}});

  metrics::Registry metrics;
  metrics::RateTracker queue_rates;  // 1/5/15-minute rates in /api/queues and /metrics
  pipeline::Registry registry;
  pipeline::register_builtin_adapters(registry);
  boost::asio::io_context io;

  std::vector<std::unique_ptr<pipeline::Sink>> sinks;
  std::vector<std::unique_ptr<pipeline::Source>> sources;
  std::unique_ptr<pipeline::Pipeline> pipe;
  std::unique_ptr<queue::InboxRetention> retention;  // prunes finished inbox rows (retention.h)
  std::atomic<bool> shutting_down{false};
  // Read by the inbox's committer thread when a source's commit completes.
  std::atomic<pipeline::Pipeline*> pipe_ptr{nullptr};
  pipeline::SourceDeps source_deps{io, *inbox, metrics, [&pipe_ptr] {
                                     if (auto* p = pipe_ptr.load()) p->notify();
                                   }, cfg.data_dir};
  pipeline::SinkDeps sink_deps{*store, metrics, cfg.data_dir};

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
    replay_pipe = pipe.get();
    if (identity_linker) pipe->set_person_resolver(identity_linker.get());
    // Reloads (SIGHUP, POST /api/mappings/reload) reach the pipeline in load order.
    mapping_versions.subscribe([p = pipe.get()](const std::shared_ptr<const mapping::CodeMaps>& maps) {
      p->set_code_maps(maps);
    });
    admin_ctx.mappings = &mapping_versions;
    admin_ctx.unmapped = unmapped_codes.get();
    admin_ctx.pipeline = pipe.get();
    admin_ctx.audit = audit_trail->recorder();
    admin_ctx.message_audit = audit::message_audit_hook(audit_trail->recorder());
    admin_ctx.rates = &queue_rates;
    admin_ctx.identity = person_index.get();
    // An operator's identity decision is audited; deciding a review item replays the
    // messages held under it, which now resolve to the chosen person.
    admin_ctx.identity_decided = [&inbox, &pipe, &mapping_versions, &identity_linker, &identity_effects,
                                  record = audit_trail->recorder()](const identity::IdentityDecision& d) {
      audit::AuditRecord r;
      r.actor = d.actor;
      r.action = d.action;
      r.target_type = "Person";
      r.target_id = d.person_id;
      r.person_id = d.person_id;
      r.detail_json = "{\"review_id\":" + std::to_string(d.review_id) + "}";
      record(std::move(r));
      if (d.action == "merge" && !d.from_person.empty() && identity_effects.persons_merged)
        identity_effects.persons_merged(d.from_person, d.person_id);
      if (d.action == "unlink" && identity_effects.identifier_moved)
        identity_effects.identifier_moved(d.identifier, d.from_person, d.person_id);
      if (!d.review_id || !identity_linker) return;
      for (int64_t id : identity_linker->take_held(d.review_id)) {
        auto row = inbox->get(id);
        if (!row) continue;
        const auto out = pipe->replay(*row, mapping_versions.current());
        log::info("identity.released", {{"inbox_id", std::to_string(id)}, {"review_id", std::to_string(d.review_id)},
                                        {"result", out.result == pipeline::ReplayOutcome::Result::Done ? "done" : out.error}});
      }
    };
    track_queue_rates(queue_rates, metrics, sources, sinks);

    metrics.gauge("phrgate_inbox_depth", "Messages committed but not yet converted and delivered", "",
                  [&inbox] { return static_cast<double>(inbox->stats().pending); });
    metrics.gauge("phrgate_inbox_oldest_pending_age_seconds", "Age of the oldest pending message", "",
                  [&inbox] { return inbox->stats().oldest_pending_age_s; });
    metrics.gauge("phrgate_inbox_failed", "Messages whose conversion or delivery failed (kept for replay)", "",
                  [&inbox] { return static_cast<double>(inbox->stats().failed); });
    metrics.gauge("phrgate_inbox_rejected", "Messages answered AE/AR (kept for an operator)", "",
                  [&inbox] { return static_cast<double>(inbox->stats().rejected); });
    retention = std::make_unique<queue::InboxRetention>(
        *inbox, queue::RetentionSettings{cfg.retention_max_age_days, cfg.retention_max_bytes,
                                         static_cast<std::size_t>(cfg.retention_batch_rows),
                                         cfg.retention_interval_seconds},
        &metrics);

    http::HttpServerOptions ho;
    ho.bind_address = cfg.http.listen;
    ho.port = cfg.http.port;
    ho.max_body_bytes = cfg.http.max_body_bytes;
    if (cfg.http.tls) ho.tls = http::TlsFiles{cfg.http.tls->cert_file, cfg.http.tls->key_file};
    for (const auto& t : cfg.http.tokens) ho.tokens.push_back({t.name, t.sha256_hex, parse_role(t.role)});
    http_server = std::make_unique<http::HttpServer>(io, ho);
    admin::FhirReadApiOptions fo;
    fo.software_version = PHRGATE_VERSION;
    fo.on_access = audit::fhir_access_recorder(audit_trail->recorder());
    fhir_api = std::make_unique<admin::FhirReadApi>(*store, fo);
    add_admin_routes(*http_server, admin_ctx, *fhir_api);
    if (person_index && claim_book)  // /api/identity/claims*, same decision hook as the identity routes
      identity::add_claim_routes(*http_server, *person_index, *claim_book, admin_ctx.identity_decided);
    audit::add_audit_routes(*http_server, *audit_trail);  // GET /api/audit, /api/audit/export

    pipe->start();
    retention->start();
    queue_rates.start(std::chrono::seconds(5));
    http_server->start();
    log::info("http.listening", {{"port", std::to_string(http_server->port())},
                                 {"tls", cfg.http.tls ? "on" : "off"}});
    for (auto& s : sources) s->start();
  } catch (const std::exception& e) {
    log::error("daemon.start_failed", {{"error", e.what()}});
    queue_rates.stop();
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
        auto reloaded = reload_mappings(mapping_versions, "SIGHUP");  // logs mappings.reloaded / reload_refused
        audit_trail->record({0, "SIGHUP", "system", "reload", "mappings", reloaded.version, "",
                             reloaded.ok ? "success" : "failure", "{}", ""});
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
        retention->stop();
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
  queue_rates.stop();  // its readers look at the sources and sinks
  sources.clear();
  pipe.reset();
  http_server.reset();
  log::info("daemon.stopped", {});
  return 0;
}

}  // namespace phrgate::daemon
