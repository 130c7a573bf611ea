// Implementation of the "hl7v2_mllp" source (see hl7v2_mllp_source.h): one frame is one
// message (or one FHS/BHS batch); it is parsed, judged (hl7v2_acceptance.h), committed to the
// inbox, and only then answered: original ACK, enhanced-mode accept ACK (or nothing when
// MSH-15 says so), one batch ACK, or the MLLP release 2 commit block. Never answers before the
// durable commit, never logs message content (only control ids).
#include "adapters/hl7v2/hl7v2_mllp_source.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/common/mllp/mllp_listener.h"
#include "adapters/hl7v2/hl7v2_acceptance.h"
#include "adapters/hl7v2/hl7v2_application_acks.h"
#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/core/log.h"
#include "gateway/pipeline/convert_settings.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"

namespace phrgate::hl7v2 {
namespace {

constexpr std::string_view kContentType = "application/hl7-v2";
// MLLP release 2 commit acknowledgement / negative commit acknowledgement block payloads.
constexpr std::string_view kCommitAck = "\x06";
constexpr std::string_view kCommitNak = "\x15";
constexpr std::string_view kCommitFailedText = "message could not be stored; resend it";

// What to do with a frame's Responder once the commit has an outcome.
struct Answer {
  enum class Kind { Send, Skip, Close } kind = Kind::Close;
  std::string payload;
  static Answer send(std::string p) { return {Kind::Send, std::move(p)}; }
  static Answer skip() { return {Kind::Skip, {}}; }
  static Answer close() { return {}; }
};

void deliver(const mllp::Responder& responder, const Answer& a) {
  switch (a.kind) {
    case Answer::Kind::Send: responder.respond(a.payload); break;
    case Answer::Kind::Skip: responder.skip(); break;
    case Answer::Kind::Close: break;  // dropping every copy closes the connection
  }
}

// MSH-15 (table 0155) decides whether an accept acknowledgement is sent: AL always, NE never,
// ER only for errors and rejections, SU only for success. Empty or unknown: always.
bool accept_ack_wanted(std::string_view accept_type, bool success) {
  if (accept_type == "NE") return false;
  if (accept_type == "ER") return !success;
  if (accept_type == "SU") return success;
  return true;
}

AckCode commit_code(AckCode original) {
  switch (original) {
    case AckCode::AA: return AckCode::CA;
    case AckCode::AE: return AckCode::CE;
    default: return AckCode::CR;
  }
}

bool is_batch(std::string_view payload) {
  std::size_t i = 0;
  while (i < payload.size() && (payload[i] == '\r' || payload[i] == '\n' || payload[i] == ' ')) ++i;
  const std::string_view rest = payload.substr(i);
  return rest.substr(0, 3) == "FHS" || rest.substr(0, 3) == "BHS";
}

// The BHS line of a batch, or its FHS when there is no BHS (empty when neither).
std::string_view batch_header_line(std::string_view payload) {
  std::string_view fhs;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    std::size_t end = payload.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = payload.size();
    const std::string_view line = payload.substr(pos, end - pos);
    if (line.substr(0, 3) == "BHS") return line;
    if (line.substr(0, 3) == "FHS" && fhs.empty()) fhs = line;
    if (line.substr(0, 3) == "MSH") break;
    pos = end + 1;
  }
  return fhs;
}

// One message judged: the original-mode verdict and its error, the row to commit, and the
// acknowledgement types the sender asked for.
struct Judged {
  queue::InboxMessage row;
  AckCode code = AckCode::AA;
  ErrorCode error = ErrorCode::ApplicationInternalError;
  std::string error_text;
  std::string location;
  RequestedAckTypes requested;
  bool asks_enhanced() const { return !requested.accept.empty() || !requested.application.empty(); }
};

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
    release2_ = config::get_int(o, "mllp_release", 1) == 2;
    as_requested_ = config::get_string(o, "acknowledgement_mode", "as_requested") == "as_requested";
    settings_ = pipeline::read_convert_settings(o);
    if (auto it = o.FindMember("accept_processing_ids"); it != o.MemberEnd() && it->value.IsArray()) {
      for (const auto& v : it->value.GetArray()) accepted_processing_ids_ += v.GetString();
    } else {
      accepted_processing_ids_ = "PTD";
    }
    if (auto it = o.FindMember("application_ack"); it != o.MemberEnd() && it->value.IsObject()) {
      const auto& a = it->value;
      ApplicationAckOptions ao;
      ao.source_name = name_;
      ao.host = config::get_string(a, "host", "127.0.0.1");
      ao.port = static_cast<uint16_t>(config::get_int(a, "port", 0));
      ao.poll_interval = std::chrono::milliseconds(config::get_int(a, "poll_interval_ms", 200));
      ao.retry_delay = std::chrono::milliseconds(config::get_int(a, "retry_delay_ms", 5000));
      ao.reply_timeout = std::chrono::milliseconds(config::get_int(a, "reply_timeout_ms", 10000));
      if (auto ca = config::get_string(a, "tls_ca_file", ""); !ca.empty()) {
        mllp::MllpClientTlsOptions t;
        t.ca_file = ca;
        t.server_name = config::get_string(a, "tls_server_name", "");
        ao.tls = t;
      }
      ao.state_path = (deps.data_dir.empty() ? std::string(".") : deps.data_dir) + "/" + name_ +
                      "-application-acks.db";
      app_acks_ = std::make_unique<ApplicationAckSender>(std::move(ao), deps.inbox, deps.metrics);
    }
    std::string labels = "source=\"" + name_ + "\"";
    received_ = &deps.metrics.counter("phrgate_messages_received_total", "Messages received per source", labels);
    acked_ = &deps.metrics.counter("phrgate_messages_acknowledged_total", "Messages accepted (AA/CA) after a durable commit", labels);
    rejected_ = &deps.metrics.counter("phrgate_messages_rejected_total", "Messages answered AE/AR or CE/CR (kept in the inbox)", labels);
    duplicates_ = &deps.metrics.counter("phrgate_messages_duplicate_total", "Repeated MSH-10 from the same sender, answered AA, not processed again", labels);
    commit_failures_ = &deps.metrics.counter("phrgate_commit_failures_total", "Inbox commits that failed (not stored; sender resends)", labels);
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
    if (app_acks_) app_acks_->start();
    listener_->start();
    log::info("source.listening", {{"source", name_}, {"type", "hl7v2_mllp"},
                                    {"port", std::to_string(listener_->port())},
                                    {"mllp_release", release2_ ? "2" : "1"}});
  }

  void stop_accepting() override { listener_->stop(); }

  ~Hl7v2MllpSource() override {
    if (app_acks_) app_acks_->stop();
  }

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
                   {"application_acks_outstanding", app_acks_ ? app_acks_->outstanding() : 0},
                   {"application_acks_sent", app_acks_ ? static_cast<int64_t>(app_acks_->sent()) : 0},
                   {"oversize_closes", static_cast<int64_t>(s.oversize_closes)}};
    return st;
  }

  pipeline::ConvertSettings convert_settings() const override { return settings_; }

 private:
  // Enhanced mode is used when configured to follow MSH-15/16 and the sender set either.
  bool enhanced(const Judged& j) const { return as_requested_ && j.asks_enhanced(); }

  static bool wants_application_ack(std::string_view msh16) {
    return msh16 == "AL" || msh16 == "ER" || msh16 == "SU";
  }

  std::string next_ack_id() {
    return ack_prefix_ + "-" + std::to_string(ack_seq_.fetch_add(1, std::memory_order_relaxed));
  }

  // Parses and judges one message; `ack` receives the acknowledgement for the sender's mode
  // (original or enhanced accept) when `build_acks` is set, and `failed_ack` the enhanced-mode
  // CR for a commit that fails (empty in original mode).
  Judged judge(std::string_view text, bool build_acks, const AckOptions& opts, std::string* ack,
               std::string* failed_ack, const std::string& peer) {
    Judged j;
    j.row.source = name_;
    j.row.content_type = std::string(kContentType);
    ParseError perr;
    auto msg = Message::parse(text, &perr);
    if (!msg) {
      j.code = AckCode::AR;
      j.error = perr.code;
      j.error_text = perr.text;
      j.location = perr.location;
      j.requested = salvage_ack_types(text);
      j.row.status = queue::InboxStatus::Rejected;
      j.row.error = perr.text;
      log::warn("hl7v2.unparseable", {{"source", name_}, {"peer", peer}, {"error", perr.text},
                                      {"location", perr.location}});
      if (build_acks) {
        AckCode c = enhanced(j) ? AckCode::CR : AckCode::AR;
        *ack = build_reject_for_unparseable(text, perr, opts, c);
        if (enhanced(j)) {
          ParseError store_err{ErrorCode::ApplicationInternalError, std::string(kCommitFailedText), -1, {}};
          *failed_ack = build_reject_for_unparseable(text, store_err, opts, AckCode::CR);
        }
      }
      return j;
    }
    const MessageHeader& h = msg->header();
    fill_row_header(h, j.row);
    j.requested.accept.assign(h.accept_ack_type);
    j.requested.application.assign(h.application_ack_type);
    Acceptance v = check_acceptance(*msg, accepted_processing_ids_);
    j.code = v.code;
    j.error = v.error;
    j.error_text = v.text;
    j.location = v.location;
    if (v.code != AckCode::AA) {
      j.row.status = queue::InboxStatus::Rejected;
      j.row.error = v.text;
      log::warn("hl7v2.rejected", {{"source", name_}, {"control_id", j.row.control_id},
                                   {"ack", std::string(to_string(v.code))}, {"error", v.text}});
    }
    if (as_requested_ && !app_acks_ && wants_application_ack(j.requested.application)) {
      log::info("hl7v2.application_ack_requested",
                {{"source", name_}, {"control_id", j.row.control_id}, {"msh16", j.requested.application},
                 {"action", "not sent: no application_ack destination is configured for this source"}});
    }
    if (build_acks) {
      const AckCode c = enhanced(j) ? commit_code(v.code) : v.code;
      *ack = c == AckCode::AA || c == AckCode::CA ? build_ack(*msg, c, opts)
                                                  : build_ack(*msg, c, opts, v.error, v.text, v.location);
      if (enhanced(j))
        *failed_ack = build_ack(*msg, AckCode::CR, opts, ErrorCode::ApplicationInternalError, kCommitFailedText);
    }
    return j;
  }

  void on_frame(mllp::MllpFrame frame) {
    if (is_batch(frame.payload)) on_batch(std::move(frame));
    else on_message(std::move(frame));
  }

  void on_message(mllp::MllpFrame frame) {
    received_->inc();
    const auto t0 = std::chrono::steady_clock::now();
    const std::string ack_id = next_ack_id();
    const std::string now = now_hl7();
    const AckOptions opts{ack_id, now};
    std::string ack;
    std::string failed_ack;
    Judged j = judge(frame.payload, !release2_, opts, &ack, &failed_ack, frame.peer);
    const bool success = j.code == AckCode::AA;

    Answer on_commit;
    Answer on_failure;
    if (release2_) {
      // MLLP R2: the commit block is the receiver's answer; no HL7 ACK content block.
      on_commit = Answer::send(std::string(kCommitAck));
      on_failure = Answer::send(std::string(kCommitNak));
    } else if (!enhanced(j)) {
      on_commit = Answer::send(ack);
      on_failure = Answer::close();  // original mode: no ACK, the sender resends
    } else {
      on_commit = accept_ack_wanted(j.requested.accept, success) ? Answer::send(ack) : Answer::skip();
      // A CR tells the sender to resend; when MSH-15 forbids it, closing is the only signal left.
      on_failure = accept_ack_wanted(j.requested.accept, false) ? Answer::send(failed_ack) : Answer::close();
    }
    if (on_commit.kind == Answer::Kind::Send && !release2_) j.row.ack = on_commit.payload;
    j.row.payload = std::move(frame.payload);
    std::string control_id = j.row.control_id;
    // Enhanced mode with MSH-16: the application ACK is promised durably before the CA goes out.
    std::string app_ack_condition;
    if (app_acks_ && !release2_ && enhanced(j) && success && wants_application_ack(j.requested.application))
      app_ack_condition = j.requested.application;
    deps_.inbox.submit(std::move(j.row), [this, responder = frame.responder, on_commit = std::move(on_commit),
                                          on_failure = std::move(on_failure), success, t0,
                                          control_id = std::move(control_id),
                                          app_ack_condition = std::move(app_ack_condition)](queue::SubmitResult r,
                                                                                            int64_t row_id) {
      if (r == queue::SubmitResult::Failed) {
        commit_failures_->inc();
        log::error("hl7v2.commit_failed", {{"source", name_}, {"control_id", control_id},
                                           {"action", on_failure.kind == Answer::Kind::Close
                                                          ? "no ACK sent; connection closed so the sender resends"
                                                          : "answered CR/NAK so the sender resends"}});
        deliver(responder, on_failure);
        return;
      }
      commit_latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (r == queue::SubmitResult::Duplicate) {
        duplicates_->inc();
        log::info("hl7v2.duplicate", {{"source", name_}, {"control_id", control_id}});
      }
      (success ? acked_ : rejected_)->inc();
      if (r == queue::SubmitResult::Committed && success && deps_.notify_pipeline) deps_.notify_pipeline();
      if (app_ack_condition.empty()) {
        deliver(responder, on_commit);
        return;
      }
      // A duplicate promises again: its first promise may have been lost with its CA.
      app_acks_->promise(row_id, app_ack_condition, [this, responder, on_commit, on_failure, control_id](bool stored) {
        if (!stored) {
          commit_failures_->inc();
          log::error("hl7v2.commit_failed", {{"source", name_}, {"control_id", control_id},
                                             {"action", "application ACK could not be promised; answered CR so the sender resends"}});
        }
        deliver(responder, stored ? on_commit : on_failure);
      });
    });
  }

  // A batch in one frame: every message becomes its own row; one answer once all are reported.
  struct BatchProgress {
    std::mutex mutex;
    std::size_t remaining = 0;
    bool failed = false;
    bool any_new_accepted = false;
    std::vector<int64_t> committed_ids;
  };

  void on_batch(mllp::MllpFrame frame) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string ack_id = next_ack_id();
    const std::string now = now_hl7();
    const AckOptions opts{ack_id, now};
    const std::vector<std::string_view> texts = split_messages(frame.payload);
    std::vector<Judged> judged;
    std::vector<BatchMessageError> errors;
    judged.reserve(texts.size());
    bool any_ar = false;
    std::string version;
    std::string processing_id;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      received_->inc();
      Judged j = judge(texts[i], false, opts, nullptr, nullptr, frame.peer);
      if (version.empty()) {
        ParseError ignored;
        if (auto m = Message::parse(texts[i], &ignored)) {
          version.assign(m->header().version);
          processing_id.assign(m->header().processing_id);
        }
      }
      if (j.code != AckCode::AA) {
        any_ar = any_ar || j.code == AckCode::AR;
        errors.push_back({i + 1, j.row.control_id, j.error, j.error_text});
      }
      j.row.payload.assign(texts[i]);
      judged.push_back(std::move(j));
    }
    const AckCode code = any_ar ? AckCode::AR : errors.empty() ? AckCode::AA : AckCode::AE;
    std::string batch_ack;
    if (!release2_)
      batch_ack = build_batch_ack(batch_header_line(frame.payload), code, errors, opts, version, processing_id);
    log::info("hl7v2.batch", {{"source", name_}, {"messages", std::to_string(judged.size())},
                              {"failed", std::to_string(errors.size())}, {"ack", std::string(to_string(code))}});

    auto progress = std::make_shared<BatchProgress>();
    progress->remaining = judged.size();
    for (Judged& j : judged) {
      const bool success = j.code == AckCode::AA;
      deps_.inbox.submit(std::move(j.row), [this, progress, success, t0, responder = frame.responder,
                                            batch_ack](queue::SubmitResult r, int64_t id) {
        bool last = false;
        {
          std::lock_guard<std::mutex> lock(progress->mutex);
          if (r == queue::SubmitResult::Failed) progress->failed = true;
          if (r == queue::SubmitResult::Committed) progress->committed_ids.push_back(id);
          if (r == queue::SubmitResult::Committed && success) progress->any_new_accepted = true;
          last = --progress->remaining == 0;
        }
        if (r == queue::SubmitResult::Failed) commit_failures_->inc();
        else (success ? acked_ : rejected_)->inc();
        if (r == queue::SubmitResult::Duplicate) duplicates_->inc();
        if (last) finish_batch(*progress, responder, batch_ack, t0);
      });
    }
  }

  // Runs on the inbox thread once every message of a batch has been reported.
  void finish_batch(BatchProgress& p, const mllp::Responder& responder, const std::string& batch_ack,
                    std::chrono::steady_clock::time_point t0) {
    if (p.failed) {
      log::error("hl7v2.batch_commit_failed",
                 {{"source", name_}, {"stored", std::to_string(p.committed_ids.size())},
                  {"action", release2_ ? "answered NAK so the sender resends"
                                       : "no ACK sent; connection closed so the sender resends"}});
      if (release2_) responder.respond(std::string(kCommitNak));
      return;  // rows already stored come back as duplicates on the resend
    }
    commit_latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (release2_) {
      responder.respond(std::string(kCommitAck));
    } else {
      for (int64_t id : p.committed_ids) deps_.inbox.set_ack(id, batch_ack);  // queued before the reply
      responder.respond(batch_ack);
    }
    if (p.any_new_accepted && deps_.notify_pipeline) deps_.notify_pipeline();
  }

  std::string name_;
  pipeline::SourceDeps& deps_;
  pipeline::ConvertSettings settings_;
  std::string accepted_processing_ids_;
  bool release2_ = false;
  bool as_requested_ = true;  // "acknowledgement_mode": "as_requested" (the default)
  std::unique_ptr<mllp::MllpListener> listener_;
  std::unique_ptr<ApplicationAckSender> app_acks_;  // set when "application_ack" is configured
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
