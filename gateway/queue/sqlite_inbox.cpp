// SqliteInbox: the Inbox on one SQLite file, with group commit. Sources submit from any
// thread; one committer thread owns the only write connection and turns everything queued
// into one transaction; workers fetch through a separate read-only connection.
// Invariants: a callback reports Committed only after COMMIT returned (WAL, synchronous=FULL);
// a failed transaction is rolled back whole and every operation in it reports failure; no
// callback or waiter is ever dropped. Crash recovery is SQLite's: a commit that did not
// return is not in the file, so nothing was acknowledged for it; pending rows stay pending.
// WAL checkpoints run on the committer between transactions (after the callbacks), never
// inside a COMMIT: they only copy frames that are already durable in the WAL.
#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <variant>

#include "gateway/core/log.h"
#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"
#include "gateway/queue/inbox_ops.h"
#include "gateway/queue/inbox_schema.h"

namespace phrgate::queue {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Creates or checks the schema before the first statement is prepared against it.
sqlite::Db& with_schema(sqlite::Db& db, int64_t migrate_vacuum_max_bytes) {
  schema::ensure(db, migrate_vacuum_max_bytes);
  return db;
}

// "Type/id" lines for the resources column.
std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.push_back('\n');
    out += item;
  }
  return out;
}

// Resets a statement when the scope ends, so no read transaction outlives its query.
class ResetGuard {
 public:
  explicit ResetGuard(sqlite::Stmt& stmt) : stmt_(stmt) {}
  ~ResetGuard() { stmt_.reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;
 private:
  sqlite::Stmt& stmt_;
};

// The committer's queue holds these, in submission order.
struct SubmitOp {
  InboxMessage msg;
  Inbox::SubmitCallback done;
  int64_t received_at_ms;
};
// complete()/complete_many()/release()/record_replay(): the caller waits on `durable`.
struct UpdateOp {
  std::vector<Completion> completions;
  int64_t release_id = 0;  // > 0: a release() instead of completions
  bool replay = false;     // record_replay(): completions[0] applies to a Done/Failed row
  bool* replay_applied = nullptr;  // set by the committer before `durable` is fulfilled
  std::promise<bool> durable;
};
struct AckOp {
  int64_t id;
  std::string ack;
};
// record_deliveries(): asynchronous, like AckOp.
struct AttemptsOp {
  std::vector<DeliveryAttempt> attempts;
};
// discard(), requeue_rejected(), prune(), vacuum_free_pages(): runs inside the transaction;
// the caller waits on `durable` and reads what `run` stored through its captures.
struct TaskOp {
  std::function<void(ops::StatusDelta&)> run;
  std::promise<bool> durable;
};
using Op = std::variant<SubmitOp, UpdateOp, AckOp, AttemptsOp, TaskOp>;

// What one transaction did, applied to the in-memory state only once it committed.
struct BatchEffects {
  std::vector<std::pair<SubmitResult, int64_t>> submit_results;  // one per SubmitOp
  int64_t pending = 0, done = 0, failed = 0, rejected = 0;       // count deltas
  ops::StatusDelta operator_delta;                               // from TaskOps
  std::vector<int64_t> returned_ids;  // completed or released: no longer handed out
};

class SqliteInbox final : public Inbox {
 public:
  explicit SqliteInbox(const SqliteInboxOptions& options);
  ~SqliteInbox() override;

  void submit(InboxMessage msg, SubmitCallback done) override;
  std::vector<PendingRow> fetch_pending(std::size_t max) override;
  void complete(int64_t id, InboxStatus status, const std::string& error,
                const std::string& mapping_version) override;
  void complete_many(const std::vector<Completion>& completions) override;
  void release(int64_t id) override;
  void set_ack(int64_t id, std::string ack) override;
  std::optional<InboxRow> get(int64_t id) override;
  bool record_replay(const Completion& outcome) override;
  void record_deliveries(std::vector<DeliveryAttempt> attempts) override;
  MessagePage query(const MessageFilter& filter) override;
  std::vector<DeliveryAttempt> delivery_attempts(int64_t id) override;
  std::optional<InboxStatus> discard(int64_t id, const std::string& reason, const std::string& actor) override;
  std::optional<InboxStatus> requeue_rejected(int64_t id) override;
  std::size_t prune(const PruneRequest& request) override;
  int64_t vacuum_free_pages(int64_t pages) override;
  InboxSize size() override;
  InboxStats stats() override;
  void flush() override;

 private:
  void enqueue(Op op);
  void wait_durable(UpdateOp op);
  void run_task(std::function<void(ops::StatusDelta&)> run, const char* what);
  void require_not_committer(const char* what) const;
  void run_committer();
  void run_checkpointer();
  void checkpoint_if_due();
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  std::vector<Op> take_batch();
  void commit_batch(std::vector<Op>& batch);
  void apply(Op& op, BatchEffects& effects);
  void finish_batch(std::vector<Op>& batch, BatchEffects& effects, bool committed);
  void load_counts();

  SqliteInboxOptions options_;

  // Write side: used only by the committer thread (and the constructor before it starts).
  sqlite::Db writer_;
  sqlite::Stmt insert_;
  sqlite::Stmt find_by_key_;
  sqlite::Stmt complete_;
  sqlite::Stmt release_;
  sqlite::Stmt set_ack_;
  sqlite::Stmt status_by_id_;
  sqlite::Stmt record_replay_;
  sqlite::Stmt insert_patient_;

  // Read side: one read-only connection, plus the ids handed out by fetch_pending(). One
  // mutex guards both, so a fetch's snapshot and its check of handed_out_ are atomic with
  // respect to the committer returning ids (see fetch_pending()).
  std::mutex reader_mutex_;
  sqlite::Db reader_;
  sqlite::Stmt pending_ids_;
  sqlite::Stmt row_by_id_;
  sqlite::Stmt oldest_pending_;
  std::unordered_set<int64_t> handed_out_;

  // The message browser's own read-only connection (see inbox_ops.h).
  std::mutex browse_mutex_;
  sqlite::Db browser_;

  // Counts per status, kept in step with committed transactions.
  std::atomic<int64_t> pending_count_{0}, done_count_{0}, failed_count_{0}, rejected_count_{0};
  std::atomic<int64_t> discarded_count_{0};

  // The queue between callers and the committer.
  std::mutex queue_mutex_;
  std::condition_variable work_ready_;   // committer waits: work, gather target, stop
  std::condition_variable batch_done_;   // flush() waits
  std::vector<Op> queued_;
  uint64_t enqueued_ops_ = 0;
  uint64_t finished_ops_ = 0;            // committed or failed, callbacks already run
  bool committer_sleeping_ = false;
  std::size_t wake_at_size_ = 1;         // submit() wakes the committer at this queue size
  int flush_waiters_ = 0;                // > 0: commit at once, do not gather
  bool stopping_ = false;
  std::thread committer_;
  // Background WAL checkpoints (see SqliteInboxOptions::checkpoint_interval).
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool checkpoint_stopping_ = false;
  std::thread checkpointer_;
  uint64_t transactions_ = 0;   // committed; committer thread only
  uint64_t committed_ops_ = 0;  // in those transactions
  // Frames in the WAL after the last commit (set by on_wal_commit on the committer thread).
  int wal_frames_ = 0;
  uint64_t checkpoints_ = 0;  // committer thread only
};

SqliteInbox::SqliteInbox(const SqliteInboxOptions& options)
    : options_(options),
      writer_(options.path),
      insert_(with_schema(writer_, options.migrate_vacuum_max_bytes), schema::kInsert),
      find_by_key_(writer_, schema::kFindByKey),
      complete_(writer_, schema::kComplete),
      release_(writer_, schema::kRelease),
      set_ack_(writer_, schema::kSetAck),
      status_by_id_(writer_, schema::kStatusById),
      record_replay_(writer_, schema::kRecordReplay),
      insert_patient_(writer_, schema::kInsertPatient),
      reader_(options.path, /*read_only=*/true),
      pending_ids_(reader_, schema::kPendingIds),
      row_by_id_(reader_, schema::kSelectRowById),
      oldest_pending_(reader_, schema::kOldestPending),
      browser_(options.path, /*read_only=*/true) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  if (options_.max_page_count > 0) {
    std::string pragma = "PRAGMA max_page_count = " + std::to_string(options_.max_page_count);
    writer_.exec(pragma.c_str());
  }
  load_counts();
  if (options_.checkpoint_interval.count() > 0) {
    writer_.exec("PRAGMA wal_autocheckpoint=0");
    checkpointer_ = std::thread([this] { run_checkpointer(); });
  } else {
    // Replaces SQLite's automatic checkpoint (which runs inside COMMIT, before the batch's
    // ACKs can go out) with checkpoint_if_due() on the committer between transactions.
    sqlite3_wal_hook(writer_.handle(), &SqliteInbox::on_wal_commit, this);
  }
  std::string pending = std::to_string(pending_count_.load());
  log::info("inbox_opened", {{"path", options_.path}, {"pending", pending}});
  committer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "inbox-commit");  // named for top -H and perf
    run_committer();
  });
}

SqliteInbox::~SqliteInbox() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  committer_.join();  // the committer drains the queue before it exits
  if (checkpointer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mutex_);
      checkpoint_stopping_ = true;
    }
    checkpoint_wake_.notify_one();
    checkpointer_.join();
  }
  std::string transactions = std::to_string(transactions_);
  std::string ops = std::to_string(committed_ops_);
  std::string checkpoints = std::to_string(checkpoints_);
  log::info("inbox_closed", {{"path", options_.path}, {"transactions", transactions},
                             {"ops", ops}, {"checkpoints", checkpoints}});
}

void SqliteInbox::load_counts() {
  sqlite::Stmt counts(writer_, schema::kCountByStatus);
  ResetGuard guard(counts);
  while (counts.step()) {
    int64_t n = counts.column_int(1);
    switch (static_cast<InboxStatus>(counts.column_int(0))) {
      case InboxStatus::Pending: pending_count_ = n; break;
      case InboxStatus::Done: done_count_ = n; break;
      case InboxStatus::Failed: failed_count_ = n; break;
      case InboxStatus::Rejected: rejected_count_ = n; break;
      case InboxStatus::Discarded: discarded_count_ = n; break;
    }
  }
}

// ---- callers' side -------------------------------------------------------------------

void SqliteInbox::enqueue(Op op) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queued_.push_back(std::move(op));
    ++enqueued_ops_;
    wake = committer_sleeping_ && queued_.size() == wake_at_size_;
  }
  if (wake) work_ready_.notify_one();
}

void SqliteInbox::submit(InboxMessage msg, SubmitCallback done) {
  if (msg.status != InboxStatus::Pending && msg.status != InboxStatus::Rejected) {
    throw std::invalid_argument("inbox submit: status must be Pending or Rejected");
  }
  enqueue(SubmitOp{std::move(msg), std::move(done), now_ms()});
}

void SqliteInbox::require_not_committer(const char* what) const {
  if (std::this_thread::get_id() == committer_.get_id()) {
    throw std::logic_error(std::string("inbox ") + what +
                           " called from a submit callback would wait for itself");
  }
}

void SqliteInbox::wait_durable(UpdateOp op) {
  std::future<bool> durable = op.durable.get_future();
  enqueue(std::move(op));
  if (!durable.get()) throw std::runtime_error("inbox commit failed; rows stay handed out");
}

void SqliteInbox::complete(int64_t id, InboxStatus status, const std::string& error,
                           const std::string& mapping_version) {
  complete_many({Completion{id, status, error, mapping_version, {}, {}}});
}

void SqliteInbox::complete_many(const std::vector<Completion>& completions) {
  require_not_committer("complete");
  for (const Completion& c : completions) {
    if (c.status != InboxStatus::Done && c.status != InboxStatus::Failed) {
      throw std::invalid_argument("inbox complete: status must be Done or Failed");
    }
  }
  if (completions.empty()) return;
  UpdateOp op;
  op.completions = completions;
  wait_durable(std::move(op));
}

void SqliteInbox::release(int64_t id) {
  require_not_committer("release");
  if (id <= 0) return;  // no row has such an id
  UpdateOp op;
  op.release_id = id;
  wait_durable(std::move(op));
}

bool SqliteInbox::record_replay(const Completion& outcome) {
  require_not_committer("record_replay");
  if (outcome.status != InboxStatus::Done && outcome.status != InboxStatus::Failed) {
    throw std::invalid_argument("inbox record_replay: status must be Done or Failed");
  }
  bool applied = false;
  UpdateOp op;
  op.completions.push_back(outcome);
  op.replay = true;
  op.replay_applied = &applied;
  wait_durable(std::move(op));
  return applied;
}

void SqliteInbox::set_ack(int64_t id, std::string ack) { enqueue(AckOp{id, std::move(ack)}); }

void SqliteInbox::record_deliveries(std::vector<DeliveryAttempt> attempts) {
  if (!attempts.empty()) enqueue(AttemptsOp{std::move(attempts)});
}

void SqliteInbox::run_task(std::function<void(ops::StatusDelta&)> run, const char* what) {
  require_not_committer(what);
  TaskOp op{std::move(run), {}};
  std::future<bool> durable = op.durable.get_future();
  enqueue(std::move(op));
  if (!durable.get()) throw std::runtime_error(std::string("inbox commit failed: ") + what);
}

std::optional<InboxStatus> SqliteInbox::discard(int64_t id, const std::string& reason, const std::string& actor) {
  if (reason.empty()) throw std::invalid_argument("inbox discard: a reason is required");
  std::optional<InboxStatus> before;
  run_task([&](ops::StatusDelta& d) { before = ops::discard_row(writer_, id, reason, actor, now_ms(), d); },
           "discard");
  return before;
}

std::optional<InboxStatus> SqliteInbox::requeue_rejected(int64_t id) {
  std::optional<InboxStatus> before;
  run_task([&](ops::StatusDelta& d) { before = ops::requeue_row(writer_, id, d); }, "requeue");
  return before;
}

std::size_t SqliteInbox::prune(const PruneRequest& request) {
  for (InboxStatus s : request.statuses)
    if (s == InboxStatus::Pending) throw std::invalid_argument("inbox prune: pending rows are never pruned");
  if (request.statuses.empty() || request.max_rows == 0) return 0;
  std::size_t deleted = 0;
  run_task([&](ops::StatusDelta& d) { deleted = ops::prune_rows(writer_, request, d); }, "prune");
  return deleted;
}

int64_t SqliteInbox::vacuum_free_pages(int64_t pages) {
  int64_t freed = 0;
  run_task([&](ops::StatusDelta&) { freed = ops::incremental_vacuum(writer_, pages); }, "vacuum");
  return freed;
}

MessagePage SqliteInbox::query(const MessageFilter& filter) {
  std::lock_guard<std::mutex> lock(browse_mutex_);
  return ops::query_messages(browser_, filter);
}

std::vector<DeliveryAttempt> SqliteInbox::delivery_attempts(int64_t id) {
  std::lock_guard<std::mutex> lock(browse_mutex_);
  return ops::query_attempts(browser_, id);
}

InboxSize SqliteInbox::size() {
  std::lock_guard<std::mutex> lock(browse_mutex_);
  return ops::query_size(browser_);
}

void SqliteInbox::flush() {
  require_not_committer("flush");
  std::unique_lock<std::mutex> lock(queue_mutex_);
  uint64_t target = enqueued_ops_;
  if (finished_ops_ >= target) return;
  ++flush_waiters_;
  work_ready_.notify_one();  // stop gathering: someone is waiting
  batch_done_.wait(lock, [&] { return finished_ops_ >= target; });
  --flush_waiters_;
}

// Holding reader_mutex_ from before the snapshot until the ids are marked handed out means
// the committer cannot return an id (it does so after COMMIT, under the same mutex) between
// our read and our check: either our snapshot already shows the row done, or the id is
// still in handed_out_.
std::vector<PendingRow> SqliteInbox::fetch_pending(std::size_t max) {
  std::vector<PendingRow> rows;
  if (max == 0) return rows;
  std::lock_guard<std::mutex> lock(reader_mutex_);
  std::vector<int64_t> ids;
  {
    pending_ids_.bind(1, static_cast<int64_t>(max + handed_out_.size()));
    ResetGuard guard(pending_ids_);
    while (ids.size() < max && pending_ids_.step()) {
      int64_t id = pending_ids_.column_int(0);
      if (handed_out_.count(id) == 0) ids.push_back(id);
    }
  }
  rows.reserve(ids.size());
  for (int64_t id : ids) {
    row_by_id_.bind(1, id);
    ResetGuard guard(row_by_id_);
    if (!row_by_id_.step()) continue;  // cannot happen: rows are never deleted
    InboxRow row = schema::read_row(row_by_id_);
    rows.push_back(PendingRow{row.id, std::move(row.source), std::move(row.sender),
                              std::move(row.control_id), std::move(row.message_type),
                              std::move(row.content_type), std::move(row.payload),
                              row.received_at_ms, row.attempts});
    handed_out_.insert(id);
  }
  return rows;
}

std::optional<InboxRow> SqliteInbox::get(int64_t id) {
  std::lock_guard<std::mutex> lock(reader_mutex_);
  row_by_id_.bind(1, id);
  ResetGuard guard(row_by_id_);
  if (!row_by_id_.step()) return std::nullopt;
  return schema::read_row(row_by_id_);
}

InboxStats SqliteInbox::stats() {
  InboxStats s;
  s.pending = pending_count_.load();
  s.done = done_count_.load();
  s.failed = failed_count_.load();
  s.rejected = rejected_count_.load();
  s.discarded = discarded_count_.load();
  if (s.pending > 0) {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    ResetGuard guard(oldest_pending_);
    if (oldest_pending_.step()) {
      int64_t age_ms = now_ms() - oldest_pending_.column_int(0);
      s.oldest_pending_age_s = static_cast<double>(std::max<int64_t>(age_ms, 0)) / 1000.0;
    }
  }
  return s;
}

// ---- committer thread ----------------------------------------------------------------

// Copies committed WAL frames into the database on its own connection. PASSIVE never waits
// for the writer or readers, so it can neither delay a commit nor deadlock; frames still in
// use by a reader are copied on a later round. A failure is logged and retried next round
// (the WAL only grows meanwhile; no data is at risk: it is already durable in the WAL).
void SqliteInbox::run_checkpointer() {
  try {
    sqlite::Db db(options_.path);
    std::unique_lock<std::mutex> lock(checkpoint_mutex_);
    while (!checkpoint_stopping_) {
      checkpoint_wake_.wait_for(lock, options_.checkpoint_interval, [this] { return checkpoint_stopping_; });
      lock.unlock();
      int wal_frames = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log::warn("inbox_checkpoint_failed", {{"path", options_.path}, {"error", sqlite3_errmsg(db.handle())}});
      lock.lock();
    }
  } catch (const std::exception& e) {
    log::error("inbox_checkpointer_stopped", {{"path", options_.path}, {"error", e.what()}});
  }
}

void SqliteInbox::run_committer() {
  std::size_t last_batch_size = 0;
  for (;;) {
    std::vector<Op> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      committer_sleeping_ = true;
      wake_at_size_ = 1;
      work_ready_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) break;  // stopping, and everything queued is committed
      // Group commit: if the last batch was bigger than what is queued now, its submitters
      // are probably about to submit again; give them up to max_delay to join this batch.
      std::size_t target = std::min(options_.max_batch, last_batch_size);
      if (queued_.size() < target && !stopping_ && flush_waiters_ == 0) {
        wake_at_size_ = target;
        work_ready_.wait_for(lock, options_.max_delay, [&] {
          return stopping_ || flush_waiters_ > 0 || queued_.size() >= target;
        });
      }
      committer_sleeping_ = false;
      batch = take_batch();
    }
    last_batch_size = batch.size();
    commit_batch(batch);
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      finished_ops_ += batch.size();
    }
    batch_done_.notify_all();
    checkpoint_if_due();  // what arrives meanwhile joins the next, larger batch
  }
}

// The WAL hook SQLite calls on the committer thread after each COMMIT (installed instead of
// the automatic checkpoint): only notes the WAL's size; checkpoint_if_due() acts on it.
int SqliteInbox::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  static_cast<SqliteInbox*>(self)->wal_frames_ = frames;
  return SQLITE_OK;
}

// PASSIVE, like SQLite's automatic checkpoint: copies what no reader still needs and never
// waits for readers. The WAL is reused from its start once everything was copied, so it
// stays bounded. A failure only leaves the WAL longer (it is retried after the next commit).
void SqliteInbox::checkpoint_if_due() {
  if (options_.checkpoint_interval.count() > 0 || wal_frames_ < options_.checkpoint_frames) return;
  wal_frames_ = 0;
  int rc = sqlite3_wal_checkpoint_v2(writer_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  ++checkpoints_;
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log::warn("inbox_checkpoint_failed", {{"path", options_.path}, {"error", sqlite3_errmsg(writer_.handle())}});
}

// Called with queue_mutex_ held: the oldest max_batch operations, in order.
std::vector<Op> SqliteInbox::take_batch() {
  std::vector<Op> batch;
  if (queued_.size() <= options_.max_batch) {
    batch.swap(queued_);
  } else {
    auto end = queued_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
    batch.assign(std::make_move_iterator(queued_.begin()), std::make_move_iterator(end));
    queued_.erase(queued_.begin(), end);
  }
  return batch;
}

void SqliteInbox::commit_batch(std::vector<Op>& batch) {
  BatchEffects effects;
  bool committed = false;
  try {
    if (sqlite3_get_autocommit(writer_.handle()) == 0) {
      writer_.exec("ROLLBACK");  // a failed ROLLBACK left a transaction open: end it first
    }
    sqlite::Transaction tx(writer_);
    for (Op& op : batch) apply(op, effects);
    if (options_.fail_commit_hook && options_.fail_commit_hook()) {
      throw std::runtime_error("injected commit failure");
    }
    tx.commit();
    committed = true;
    ++transactions_;
    committed_ops_ += batch.size();
  } catch (const std::exception& e) {
    // Disk full, I/O error, injected fault: the transaction is rolled back whole.
    std::string ops = std::to_string(batch.size());
    std::string code = "0";
    if (auto* sq = dynamic_cast<const sqlite::SqliteError*>(&e)) code = std::to_string(sq->code());
    log::error("inbox_commit_failed", {{"ops", ops}, {"sqlite_code", code}, {"error", e.what()}});
  }
  finish_batch(batch, effects, committed);
}

// Runs one operation inside the open transaction; a throw fails the whole batch.
void SqliteInbox::apply(Op& op, BatchEffects& effects) {
  if (auto* submit = std::get_if<SubmitOp>(&op)) {
    const InboxMessage& m = submit->msg;
    bool rejected = m.status == InboxStatus::Rejected;
    insert_.bind(1, m.source).bind(2, m.sender).bind(3, m.control_id).bind(4, m.message_type);
    insert_.bind(5, m.content_type).bind(6, static_cast<int64_t>(m.status)).bind(7, m.error);
    insert_.bind(8, m.ack).bind(9, submit->received_at_ms).bind_blob(10, m.payload);
    insert_.run();
    if (writer_.changes() > 0) {
      effects.submit_results.emplace_back(SubmitResult::Committed, writer_.last_insert_rowid());
      (rejected ? effects.rejected : effects.pending) += 1;
      return;
    }
    // Conflict on (sender, control_id): an earlier row, possibly from this same batch.
    find_by_key_.bind(1, m.sender).bind(2, m.control_id);
    ResetGuard guard(find_by_key_);
    if (!find_by_key_.step()) throw std::logic_error("inbox: insert ignored but no row found");
    effects.submit_results.emplace_back(SubmitResult::Duplicate, find_by_key_.column_int(0));
  } else if (auto* update = std::get_if<UpdateOp>(&op)) {
    if (update->release_id > 0) {
      release_.bind(1, update->release_id).run();
      effects.returned_ids.push_back(update->release_id);
      return;
    }
    int64_t completed_at = now_ms();
    if (update->replay) {  // a finished row: move it between Done and Failed (never pending)
      const Completion& c = update->completions.front();
      int64_t before = -1;
      {
        status_by_id_.bind(1, c.id);
        ResetGuard guard(status_by_id_);
        if (status_by_id_.step()) before = status_by_id_.column_int(0);
      }
      if (before != static_cast<int64_t>(InboxStatus::Done) && before != static_cast<int64_t>(InboxStatus::Failed))
        return;
      record_replay_.bind(1, c.id).bind(2, static_cast<int64_t>(c.status)).bind(3, c.error);
      record_replay_.bind(4, c.mapping_version).bind(5, completed_at).run();
      (before == static_cast<int64_t>(InboxStatus::Done) ? effects.done : effects.failed) -= 1;
      (c.status == InboxStatus::Done ? effects.done : effects.failed) += 1;
      *update->replay_applied = true;
      return;
    }
    for (const Completion& c : update->completions) {
      complete_.bind(1, c.id).bind(2, static_cast<int64_t>(c.status)).bind(3, c.error);
      complete_.bind(4, c.mapping_version).bind(5, completed_at).bind(6, join_lines(c.resources)).run();
      if (writer_.changes() > 0) {  // it was pending; completing twice changes nothing
        effects.pending -= 1;
        (c.status == InboxStatus::Done ? effects.done : effects.failed) += 1;
        for (const auto& [system, value] : c.patient_identifiers) {
          if (value.empty()) continue;
          insert_patient_.bind(1, value).bind(2, system).bind(3, c.id).run();
        }
      }
      effects.returned_ids.push_back(c.id);
    }
  } else if (auto* ack = std::get_if<AckOp>(&op)) {
    set_ack_.bind(1, ack->id).bind(2, ack->ack).run();
  } else if (auto* attempts = std::get_if<AttemptsOp>(&op)) {
    ops::write_attempts(writer_, attempts->attempts);
  } else if (auto* task = std::get_if<TaskOp>(&op)) {
    task->run(effects.operator_delta);
  }
}

// After the transaction ended: update memory, then tell every caller, in queue order.
void SqliteInbox::finish_batch(std::vector<Op>& batch, BatchEffects& effects, bool committed) {
  if (committed) {
    pending_count_ += effects.pending;
    done_count_ += effects.done;
    failed_count_ += effects.failed;
    rejected_count_ += effects.rejected;
    const int64_t* d = effects.operator_delta.by_status;
    pending_count_ += d[0];
    done_count_ += d[1];
    failed_count_ += d[2];
    rejected_count_ += d[3];
    discarded_count_ += d[4];
    if (!effects.returned_ids.empty()) {
      std::lock_guard<std::mutex> lock(reader_mutex_);
      for (int64_t id : effects.returned_ids) handed_out_.erase(id);
    }
  }
  std::size_t next_result = 0;
  for (Op& op : batch) {
    if (auto* submit = std::get_if<SubmitOp>(&op)) {
      std::pair<SubmitResult, int64_t> result{SubmitResult::Failed, 0};
      if (committed) result = effects.submit_results[next_result++];
      if (!submit->done) continue;
      try {
        submit->done(result.first, result.second);
      } catch (const std::exception& e) {
        log::error("inbox_callback_threw", {{"error", e.what()}});
      } catch (...) {
        log::error("inbox_callback_threw", {{"error", "unknown exception"}});
      }
    } else if (auto* update = std::get_if<UpdateOp>(&op)) {
      update->durable.set_value(committed);
    } else if (auto* task = std::get_if<TaskOp>(&op)) {
      task->durable.set_value(committed);
    }
  }
}

}  // namespace

std::unique_ptr<Inbox> open_sqlite_inbox(const SqliteInboxOptions& options) {
  return std::make_unique<SqliteInbox>(options);
}

}  // namespace phrgate::queue
