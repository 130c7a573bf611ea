// Implementation of the "hl7v2_mllp" source (see hl7v2_mllp_source.h).
#include "adapters/hl7v2/hl7v2_mllp_source.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/common/mllp/mllp_listener.h"
#include "adapters/hl7v2/hl7v2_acceptance.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"

namespace phrgate::hl7v2 {
namespace {

constexpr std::string_view kContentType = "application/hl7-v2";

class Hl7v2MllpSource final : public pipeline::Source {
 public:
  Hl7v2MllpSource(const config::AdapterConfig& cfg, pipeline::SourceDeps& deps)
      : name_(cfg.name), deps_(deps) {
    const auto& o = *cfg.options;
    mllp::MllpListenerOptions lo;
    lo.bind_address = config::get_string(o, "listen", "0.0.0.0");
    lo.port = static_cast<uint16_t>(config::get_int(o, "port", 2575));
    lo.max_frame_bytes = static_cast<std::size_t>(config::get_int(o, "max_frame_bytes", 10 << 20));
    lo.idle_timeout = std::chrono::seconds(config::get_int(o, "idle_timeout_s", 300));
    lo.max_connections = static_cast<std::size_t>(config::get_int(o, "max_connections", 1024));
    lo.max_in_flight_per_connection =
        static_cast<std::size_t>(config::get_int(o, "max_in_flight_per_connection", 64));
    if (auto tls = config::get_tls(o, "tls")) {
      mllp::MllpServerTlsOptions t;
      t.cert_file = tls->cert_file;
      t.key_file = tls->key_file;
      if (!tls->ca_file.empty()) t.ca_file = tls->ca_file;
      lo.tls = t;
    }
    lo.log_name = name_;
    settings_.default_zone = config::get_string(o, "default_timezone", "Z");
    if (auto it = o.FindMember("accept_processing_ids"); it != o.MemberEnd() && it->value.IsArray()) {
      for (const auto& v : it->value.GetArray()) accepted_processing_ids_ += v.GetString();
    } else {
      accepted_processing_ids_ = "PTD";
    }
    std::string labels = "source=\"" + name_ + "\"";
    received_ = &deps.metrics.counter("phrgate_messages_received_total", "Messages received per source", labels);
    acked_ = &deps.metrics.counter("phrgate_messages_acknowledged_total", "Messages acknowledged AA after a durable commit", labels);
    rejected_ = &deps.metrics.counter("phrgate_messages_rejected_total", "Messages answered AE or AR (kept in the inbox)", labels);
    duplicates_ = &deps.metrics.counter("phrgate_messages_duplicate_total", "Repeated MSH-10 from the same sender, answered AA, not processed again", labels);
    commit_failures_ = &deps.metrics.counter("phrgate_commit_failures_total", "Inbox commits that failed (no ACK sent; sender resends)", labels);
    commit_latency_ = &deps.metrics.histogram("phrgate_commit_seconds", "Time from a frame's arrival to its durable commit", labels);
    listener_ = std::make_unique<mllp::MllpListener>(
        deps.io, lo, [this](mllp::MllpFrame frame) { on_frame(std::move(frame)); });
    deps.metrics.gauge("phrgate_mllp_connections", "Open MLLP connections", labels,
                       [this] { return static_cast<double>(listener_->stats().active_connections); });
    ack_prefix_ = "PG" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() % 100000000);
  }

  const std::string& name() const override { return name_; }

  void start() override {
    listener_->start();
    log::info("source.listening", {{"source", name_}, {"type", "hl7v2_mllp"},
                                    {"port", std::to_string(listener_->port())}});
  }

  void stop_accepting() override { listener_->stop(); }

  void drain(std::chrono::steady_clock::time_point deadline) override {
    auto drained = std::make_shared<std::atomic<bool>>(false);
    listener_->close_idle_and_drain(deadline, [drained] { *drained = true; });
    while (!*drained && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  pipeline::SourceStatus status() const override {
    auto s = listener_->stats();
    pipeline::SourceStatus st;
    st.name = name_;
    st.type = "hl7v2_mllp";
    st.listening = std::to_string(listener_->port());
    st.counters = {{"received", static_cast<int64_t>(received_->value())},
                   {"acknowledged", static_cast<int64_t>(acked_->value())},
                   {"rejected", static_cast<int64_t>(rejected_->value())},
                   {"duplicates", static_cast<int64_t>(duplicates_->value())},
                   {"commit_failures", static_cast<int64_t>(commit_failures_->value())},
                   {"connections", static_cast<int64_t>(s.active_connections)},
                   {"oversize_closes", static_cast<int64_t>(s.oversize_closes)}};
    return st;
  }

  pipeline::ConvertSettings convert_settings() const override { return settings_; }

  uint16_t port() const { return listener_->port(); }

 private:
  std::string next_ack_id() {
    return ack_prefix_ + "-" + std::to_string(ack_seq_.fetch_add(1, std::memory_order_relaxed));
  }

  void on_frame(mllp::MllpFrame frame) {
    received_->inc();
    auto t0 = std::chrono::steady_clock::now();
    queue::InboxMessage row;
    row.source = name_;
    row.content_type = std::string(kContentType);
    std::string ack;
    std::string ack_id = next_ack_id();
    std::string now = now_hl7();
    AckOptions opts{ack_id, now};
    AckCode code = AckCode::AA;
    ParseError perr;
    std::string log_control_id;
    {
      auto msg = Message::parse(frame.payload, &perr);
      if (!msg) {
        code = AckCode::AR;
        ack = build_reject_for_unparseable(frame.payload, perr, opts);
        row.status = queue::InboxStatus::Rejected;
        row.error = perr.text;
        log::warn("hl7v2.unparseable", {{"source", name_}, {"peer", frame.peer}, {"error", perr.text},
                                        {"location", perr.location}});
      } else {
        fill_row_header(msg->header(), row);
        log_control_id = row.control_id;
        Acceptance v = check_acceptance(*msg, accepted_processing_ids_);
        code = v.code;
        if (v.code != AckCode::AA) {
          row.status = queue::InboxStatus::Rejected;
          row.error = v.text;
          ack = build_ack(*msg, v.code, opts, v.error, v.text, v.location);
          log::warn("hl7v2.rejected", {{"source", name_}, {"control_id", log_control_id}, {"ack", std::string(to_string(v.code))},
                                       {"error", v.text}});
        } else {
          ack = build_ack(*msg, AckCode::AA, opts);
        }
      }
    }
    row.payload = std::move(frame.payload);
    row.ack = ack;
    deps_.inbox.submit(std::move(row), [this, responder = frame.responder, ack = std::move(ack), code, t0,
                                        control_id = std::move(log_control_id)](queue::SubmitResult r, int64_t) {
      switch (r) {
        case queue::SubmitResult::Committed:
        case queue::SubmitResult::Duplicate:
          commit_latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          if (r == queue::SubmitResult::Duplicate) {
            duplicates_->inc();
            log::info("hl7v2.duplicate", {{"source", name_}, {"control_id", control_id}});
          }
          (code == AckCode::AA ? acked_ : rejected_)->inc();
          responder.respond(ack);
          if (r == queue::SubmitResult::Committed && code == AckCode::AA && deps_.notify_pipeline)
            deps_.notify_pipeline();
          break;
        case queue::SubmitResult::Failed:
          commit_failures_->inc();
          log::error("hl7v2.commit_failed", {{"source", name_}, {"control_id", control_id},
                                             {"action", "no ACK sent; connection closed so the sender resends"}});
          break;  // the responder is dropped unanswered: the listener closes the connection
      }
    });
  }

  std::string name_;
  pipeline::SourceDeps& deps_;
  pipeline::ConvertSettings settings_;
  std::string accepted_processing_ids_;
  std::unique_ptr<mllp::MllpListener> listener_;
  std::string ack_prefix_;
  std::atomic<uint64_t> ack_seq_{1};
  metrics::Counter* received_;
  metrics::Counter* acked_;
  metrics::Counter* rejected_;
  metrics::Counter* duplicates_;
  metrics::Counter* commit_failures_;
  metrics::Histogram* commit_latency_;
};

}  // namespace

std::unique_ptr<pipeline::Source> make_hl7v2_mllp_source(const config::AdapterConfig& config,
                                                         pipeline::SourceDeps& deps) {
  return std::make_unique<Hl7v2MllpSource>(config, deps);
}

}  // namespace phrgate::hl7v2
