// Inbox: the durable queue every source writes into before it acknowledges.
// Invariants:
//  * submit()'s callback reports Committed only after the row is durable on disk
//    (SQLite WAL, synchronous=FULL); a source may ACK only then.
//  * (sender, control_id) is unique: a repeat is reported Duplicate and not queued again.
//  * A row stays `pending` until the pipeline calls complete(); a crash at any point leaves
//    it pending, so a restart converts it again (conversion and store writes are idempotent).
//  * record_replay() (an operator's replay) only moves a finished row between Done and
//    Failed; it never makes a row pending again, so it cannot race the pipeline's worker.
//  * Rows that sources refused (unparseable, unsupported) are kept as `rejected` with their
//    error so an operator can find and replay them.
//  * complete(), complete_many() and release() are durable before they return; when the
//    commit fails they throw std::runtime_error and the rows stay handed out (retry or release).
//  * Callbacks run on the inbox's own thread: they must be quick and must not call flush(),
//    complete(), complete_many() or release() (those wait for that thread: std::logic_error).
//  * Operators' actions (discard(), requeue_rejected()) and retention's prune() never touch a
//    pending row; prune() deletes only finished rows and their side-table rows (patients,
//    delivery attempts), in small transactions that queue with the live traffic.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/queue/message_query.h"

namespace phrgate::queue {


struct InboxMessage {
  std::string source;       // config name of the source, e.g. "emr-adt"
  std::string sender;       // sender key, e.g. "EPIC^HOSPITAL_A" (MSH-3^MSH-4); may be empty
  std::string control_id;   // MSH-10 or document id; empty means "no dedup key"
  std::string message_type; // e.g. "ADT^A01"
  std::string content_type; // "application/hl7-v2", "application/cda+xml", ...
  std::string payload;      // the original bytes, exactly as received
  InboxStatus status = InboxStatus::Pending;
  std::string error;        // for Rejected rows: why (no PHI)
  std::string ack;          // the acknowledgement sent back, when there is one
};

enum class SubmitResult { Committed, Duplicate, Failed };

struct PendingRow {
  int64_t id;
  std::string source;
  std::string sender;
  std::string control_id;
  std::string message_type;
  std::string content_type;
  std::string payload;
  int64_t received_at_ms;
  int attempts;
};

// One result of processing a row, for complete_many().
struct Completion {
  int64_t id = 0;
  InboxStatus status = InboxStatus::Done;  // Done or Failed
  std::string error;                       // no PHI
  std::string mapping_version;             // the mapping tables' version used to convert it
  // Optional, for the message browser: the (system, value) identifiers of the converted
  // Patient resources (searchable with GET /api/messages?patient=) and the converted
  // resources as "Type/id". Recorded by complete_many() only (not by record_replay()).
  std::vector<std::pair<std::string, std::string>> patient_identifiers;
  std::vector<std::string> resources;
};

// Every column of one inbox row, for operators and tests.
struct InboxRow {
  int64_t id = 0;
  std::string source;
  std::string sender;
  std::string control_id;
  std::string message_type;
  std::string content_type;
  std::string payload;
  InboxStatus status = InboxStatus::Pending;
  std::string error;
  std::string ack;
  int64_t received_at_ms = 0;
  std::optional<int64_t> completed_at_ms;  // set by complete()
  int attempts = 0;                        // finished processing attempts (complete + release)
  std::string mapping_version;
  std::string discard_reason;  // Discarded rows: the operator's reason
  std::string discarded_by;    // Discarded rows: the operator's principal
  std::vector<std::string> resources;  // "Type/id" of the converted resources, when recorded
};

struct InboxStats {
  int64_t pending = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t rejected = 0;
  int64_t discarded = 0;
  double oldest_pending_age_s = 0;  // 0 when nothing is pending
};

class Inbox {
 public:
  virtual ~Inbox() = default;
  using SubmitCallback = std::function<void(SubmitResult, int64_t row_id)>;
  // Queues the message for the next group commit; `done` runs on the committer thread
  // after the transaction is durable (or failed). Never blocks on disk I/O.
  // msg.status must be Pending or Rejected (otherwise std::invalid_argument).
  virtual void submit(InboxMessage msg, SubmitCallback done) = 0;
  // Oldest pending rows first, at most `max`, skipping ids already handed out and not yet
  // completed (so two workers never get the same row). Hand-outs live in memory only:
  // after a restart every pending row is available again.
  virtual std::vector<PendingRow> fetch_pending(std::size_t max) = 0;
  // Marks a row processed (Done) or Failed with an error text (no PHI). Durable before return.
  // A row that is no longer pending is left as it is.
  virtual void complete(int64_t id, InboxStatus status, const std::string& error,
                        const std::string& mapping_version) = 0;
  virtual InboxStats stats() = 0;
  // Blocks until everything submitted so far is committed (used at shutdown and in tests).
  virtual void flush() = 0;

  // complete() for many rows in one durable commit (status Done or Failed for each).
  virtual void complete_many(const std::vector<Completion>& completions) = 0;
  // Hands a fetched row back (e.g. after a retryable failure): counts one attempt and makes
  // it available to fetch_pending() again. Durable before return.
  virtual void release(int64_t id) = 0;
  // Records the acknowledgement text sent back for a row. Asynchronous: written with the
  // next group commit (flush() waits for it); not guaranteed durable on return.
  virtual void set_ack(int64_t id, std::string ack) = 0;
  // Every column of one row, or nullopt when there is no such id.
  virtual std::optional<InboxRow> get(int64_t id) = 0;
  // Records the outcome of an operator's replay of a finished row (Done or Failed): its new
  // status (Done or Failed), error and mapping version; counts one attempt. Returns false and
  // changes nothing when the row is not Done or Failed (unknown, pending, rejected).
  // Durable before return; throws std::runtime_error when the commit fails.
  virtual bool record_replay(const Completion& outcome) = 0;

  // ---- message browser, dead letters, retention (defaults: not supported) ----
  // Records the sinks' verdicts for delivered rows. Asynchronous like set_ack(): written with
  // the next group commit (call it before complete_many() and both share one transaction).
  virtual void record_deliveries(std::vector<DeliveryAttempt> attempts) { (void)attempts; }
  // One page of rows matching `filter`, newest first (keyset paging; see message_query.h).
  virtual MessagePage query(const MessageFilter& filter);
  // Every delivery attempt recorded for a row, oldest first.
  virtual std::vector<DeliveryAttempt> delivery_attempts(int64_t id);
  // Marks a Failed or Rejected row Discarded with the operator's reason (required) and
  // principal. Returns the status before (nullopt: no such row); changes nothing unless it
  // was Failed or Rejected. Durable before return.
  virtual std::optional<InboxStatus> discard(int64_t id, const std::string& reason, const std::string& actor);
  // Makes a Rejected row pending again so the pipeline converts it (an operator's replay of
  // a message a source refused). Rejected rows are never handed out, so this cannot race
  // the worker. Returns the status before (nullopt: no such row); changes nothing unless it
  // was Rejected. Durable before return.
  virtual std::optional<InboxStatus> requeue_rejected(int64_t id);
  // Deletes at most `request.max_rows` rows with one of `request.statuses` (never Pending:
  // std::invalid_argument) received before `request.received_before_ms`, oldest first, and
  // their side-table rows, in one transaction. Returns the rows deleted.
  virtual std::size_t prune(const PruneRequest& request);
  // Returns up to `pages` free pages to the file system (incremental vacuum; a no-op on files
  // without auto_vacuum=INCREMENTAL). Returns the pages freed.
  virtual int64_t vacuum_free_pages(int64_t pages) { (void)pages; return 0; }
  // Database size: the file's pages and the pages in use, in bytes.
  virtual InboxSize size() { return {}; }
};

struct SqliteInboxOptions {
  std::string path;                 // database file, e.g. "<data_dir>/inbox.db"
  std::size_t max_batch = 1024;     // rows per group commit
  std::chrono::microseconds max_delay{1000};  // how long a commit waits to gather rows
  // Size cap: PRAGMA max_page_count on the write connection (0: no cap). Commits that would
  // grow the file past it fail like a full disk (callbacks report Failed).
  int64_t max_page_count = 0;
  // Zero (default): the committer itself checkpoints the WAL (PASSIVE) once it holds
  // `checkpoint_frames` frames, between two transactions and after the callbacks of the one
  // that crossed the mark ran, so no ACK waits for a checkpoint and no checkpoint competes
  // with a commit's fsync. Non-zero: checkpoints (PASSIVE) on a background thread every
  // interval instead. Measured slower on one disk (docs/performance.md: the checkpointer's
  // fsyncs compete with the commits'); kept for layouts such as a WAL on its own device.
  std::chrono::milliseconds checkpoint_interval{0};
  int64_t checkpoint_frames = 1000;  // SQLite's own default threshold (4 MB of 4 KB pages)
  // Files migrated from schema v1 larger than this are not VACUUMed at open to switch on
  // incremental vacuum (a full rewrite); they reuse free pages instead (the file stops
  // growing but does not shrink). New files always use auto_vacuum=INCREMENTAL.
  int64_t migrate_vacuum_max_bytes = 256ll << 20;
  // Fault injection for tests: called inside each write transaction just before COMMIT;
  // returning true makes that commit fail (rolled back, callbacks report Failed).
  std::function<bool()> fail_commit_hook;
};

// Opens or creates the file (schema versioned by PRAGMA user_version) and starts the
// committer thread. Throws sqlite::SqliteError or std::runtime_error (e.g. newer schema).
std::unique_ptr<Inbox> open_sqlite_inbox(const SqliteInboxOptions& options);

}  // namespace phrgate::queue
