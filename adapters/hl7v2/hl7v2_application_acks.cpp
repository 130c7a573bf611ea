// Implementation of the application acknowledgement sender (see hl7v2_application_acks.h).
// One worker thread: it commits queued promises (one transaction per wake-up), then looks up
// each promised inbox row; once the pipeline finished it (Done, Failed), it builds the AA/AE
// acknowledgement from the original message and sends it over MLLP to the sender's listener.
// An entry leaves the state file only after the sender answered the acknowledgement with
// AA/CA (or rejected it for good with AR/CR); otherwise it is retried with backoff.
#include "adapters/hl7v2/hl7v2_application_acks.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"

namespace phrgate::hl7v2 {

bool application_ack_wanted(std::string_view condition, bool success) {
  if (condition == "AL") return true;
  if (condition == "ER") return !success;
  if (condition == "SU") return success;
  return false;
}

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS promised_acks(
  inbox_id   INTEGER PRIMARY KEY,
  condition  TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  next_at_ms INTEGER NOT NULL DEFAULT 0);
)sql";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

// MSA-1 of a reply, or "" when it is not a readable acknowledgement.
std::string reply_code(std::string_view reply) {
  ParseError err;
  auto msg = Message::parse(reply, &err);
  if (!msg) return {};
  const Segment* msa = msg->find("MSA");
  if (!msa) return {};
  return std::string(msa->field(1));
}

}  // namespace

struct ApplicationAckSender::Impl {
  struct Promise {
    int64_t inbox_id;
    std::string condition;
    std::function<void(bool)> then;
  };

  ApplicationAckOptions opt;
  queue::Inbox& inbox;
  sqlite::Db db;
  mllp::MllpClient client;
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<Promise> queued;
  bool stopping = false;
  std::thread worker;
  std::atomic<int64_t> outstanding{0};
  std::atomic<uint64_t> sent{0};
  metrics::Counter* sent_total;
  metrics::Counter* failures_total;
  uint64_t seq = 0;

  Impl(ApplicationAckOptions o, queue::Inbox& in, metrics::Registry& metrics)
      : opt(std::move(o)), inbox(in), db(opt.state_path), client(client_options(opt)) {
    db.exec(kSchema);
    sqlite::Stmt count(db, "SELECT count(*) FROM promised_acks");
    outstanding = count.step() ? count.column_int(0) : 0;
    const std::string labels = "source=\"" + opt.source_name + "\"";
    sent_total = &metrics.counter("phrgate_application_acks_sent_total",
                                  "Application acknowledgements (MSH-16) confirmed by the sender", labels);
    failures_total = &metrics.counter("phrgate_application_ack_failures_total",
                                      "Failed attempts to send an application acknowledgement", labels);
    metrics.gauge("phrgate_application_acks_outstanding",
                  "Application acknowledgements promised and not yet confirmed", labels,
                  [this] { return static_cast<double>(outstanding.load()); });
  }

  static mllp::MllpClientOptions client_options(const ApplicationAckOptions& o) {
    mllp::MllpClientOptions c;
    c.connect_timeout = o.reply_timeout;
    c.reply_timeout = o.reply_timeout;
    c.tls = o.tls;
    return c;
  }

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      wake.wait_for(lock, opt.poll_interval, [this] { return stopping || !queued.empty(); });
      if (stopping) break;
      std::vector<Promise> batch;
      batch.swap(queued);
      lock.unlock();
      if (!batch.empty()) record(batch);
      try {
        send_finished();
      } catch (const std::exception& e) {  // state file I/O: try again on the next round
        log::error("hl7v2.application_ack_state_failed", {{"source", opt.source_name}, {"error", e.what()}});
      }
      lock.lock();
    }
  }

  void record(std::vector<Promise>& batch) {
    bool ok = true;
    try {
      sqlite::Transaction txn(db);
      sqlite::Stmt insert(db, "INSERT OR IGNORE INTO promised_acks(inbox_id, condition) VALUES(?1, ?2)");
      for (const auto& p : batch) insert.bind(1, p.inbox_id).bind(2, p.condition).run();
      txn.commit();
    } catch (const std::exception& e) {
      ok = false;
      log::error("hl7v2.application_ack_promise_failed", {{"source", opt.source_name}, {"error", e.what()}});
    }
    if (ok) {
      sqlite::Stmt count(db, "SELECT count(*) FROM promised_acks");
      outstanding = count.step() ? count.column_int(0) : 0;
    }
    for (auto& p : batch) p.then(ok);
  }

  // Sends the acknowledgement of every promised row the pipeline has finished.
  void send_finished() {
    struct Due {
      int64_t id;
      std::string condition;
      int attempts;
    };
    std::vector<Due> due;
    {
      sqlite::Stmt select(db, "SELECT inbox_id, condition, attempts FROM promised_acks "
                              "WHERE next_at_ms <= ?1 ORDER BY inbox_id LIMIT 256");
      select.bind(1, now_ms());
      while (select.step())
        due.push_back({select.column_int(0), std::string(select.column_text(1)),
                       static_cast<int>(select.column_int(2))});
    }
    for (const auto& d : due) {
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
      }
      auto row = inbox.get(d.id);
      if (row && row->status == queue::InboxStatus::Pending) continue;  // not processed yet
      bool settled = true;
      if (row) settled = send_one(*row, d.condition);
      if (settled) {
        sqlite::Stmt del(db, "DELETE FROM promised_acks WHERE inbox_id = ?1");
        del.bind(1, d.id).run();
        --outstanding;
      } else {
        const auto delay = std::min<int64_t>(opt.retry_delay.count() << std::min(d.attempts, 16),
                                             opt.max_retry_delay.count());
        sqlite::Stmt later(db, "UPDATE promised_acks SET attempts = attempts + 1, next_at_ms = ?2 "
                               "WHERE inbox_id = ?1");
        later.bind(1, d.id).bind(2, now_ms() + delay).run();
        return;  // the sender's listener is unreachable: keep order, wait for the backoff
      }
    }
  }

  // True when the entry is settled (sent and confirmed, not wanted, or refused for good).
  bool send_one(const queue::InboxRow& row, const std::string& condition) {
    const bool success = row.status == queue::InboxStatus::Done;
    if (!application_ack_wanted(condition, success)) return true;
    ParseError perr;
    auto msg = Message::parse(row.payload, &perr);
    if (!msg) return true;  // unparseable rows were answered AR/CR at once: nothing to add
    const std::string ack_id = "PGA" + std::to_string(row.id) + "-" + std::to_string(++seq);
    const std::string when = now_hl7();
    const AckOptions ack_opts{ack_id, when};
    const std::string ack =
        success ? build_ack(*msg, AckCode::AA, ack_opts)
                : build_ack(*msg, row.status == queue::InboxStatus::Rejected ? AckCode::AR : AckCode::AE,
                            ack_opts, ErrorCode::ApplicationInternalError,
                            row.error.empty() ? std::string_view("processing failed") : std::string_view(row.error));
    const std::string control_id = row.control_id;
    try {
      if (!client.connected()) client.connect(opt.host, opt.port);
      const std::string code = reply_code(client.send(ack));
      if (code == "AA" || code == "CA") {
        ++sent;
        sent_total->inc();
        log::info("hl7v2.application_ack_sent", {{"source", opt.source_name}, {"control_id", control_id},
                                                  {"ack", success ? "AA" : "AE"}});
        return true;
      }
      if (code == "AR" || code == "CR") {
        log::warn("hl7v2.application_ack_refused", {{"source", opt.source_name}, {"control_id", control_id},
                                                    {"reply", code}, {"action", "not sent again"}});
        return true;
      }
      failures_total->inc();
      log::warn("hl7v2.application_ack_unconfirmed", {{"source", opt.source_name}, {"control_id", control_id},
                                                      {"reply", code.empty() ? "unreadable" : code},
                                                      {"action", "retried later"}});
      return false;
    } catch (const mllp::MllpClientError& e) {
      failures_total->inc();
      client.close();
      log::warn("hl7v2.application_ack_unreachable", {{"source", opt.source_name}, {"error", e.what()},
                                                      {"action", "retried later"}});
      return false;
    }
  }
};

ApplicationAckSender::ApplicationAckSender(ApplicationAckOptions options, queue::Inbox& inbox,
                                           metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), inbox, metrics)) {}

ApplicationAckSender::~ApplicationAckSender() { stop(); }

void ApplicationAckSender::start() {
  if (impl_->worker.joinable()) return;
  impl_->stopping = false;
  impl_->worker = std::thread([this] { impl_->run(); });
}

void ApplicationAckSender::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  // Promises queued but never recorded: their messages were not accepted (no CA was sent).
  for (auto& p : impl_->queued) p.then(false);
  impl_->queued.clear();
}

void ApplicationAckSender::promise(int64_t inbox_id, std::string condition, std::function<void(bool)> then) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->queued.push_back({inbox_id, std::move(condition), std::move(then)});
      impl_->wake.notify_one();
      return;
    }
  }
  then(false);
}

int64_t ApplicationAckSender::outstanding() const { return impl_->outstanding.load(); }
uint64_t ApplicationAckSender::sent() const { return impl_->sent.load(); }

}  // namespace phrgate::hl7v2
