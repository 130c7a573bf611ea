// AuditTrail: the append-only audit trail in <data_dir>/audit.db, separate from the
// operational log. record() only queues (a bounded in-memory queue); one writer thread
// commits whatever is queued in one transaction, so a record is durable (WAL,
// synchronous=FULL) within one commit of being queued (well under a second). Triggers
// refuse UPDATE and DELETE on the table. A crash loses at most the records still queued.
// Queries run on a second connection and never wait for the writer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/audit/audit_record.h"

namespace phrgate::sqlite {
class Db;
}

namespace phrgate::audit {

struct AuditTrailOptions {
  std::string path;  // e.g. <data_dir>/audit.db
  // The role of an actor (token name), for records that do not give one.
  std::function<std::string(std::string_view actor)> role_of;
  // When this many records wait, record() blocks until the writer catches up (an audit
  // record is never dropped).
  std::size_t max_queued = 100000;
  // The writer waits this long after the first queued record to gather more into one commit.
  std::chrono::milliseconds gather_delay{50};
};

struct StoredAuditRecord {
  int64_t id = 0;  // increasing with insertion order
  AuditRecord record;
};

struct AuditQuery {
  std::string actor, action, person_id;  // empty: any
  int64_t since_ms = 0;                  // at_ms >= since_ms
  int64_t until_ms = INT64_MAX;          // at_ms < until_ms
  int64_t before_id = INT64_MAX;         // the cursor: only records with id < before_id
  int64_t limit = 100;
  bool oldest_first = false;             // default: newest first
  int64_t after_id = 0;                  // with oldest_first: only records with id > after_id
};

struct AuditPage {
  std::vector<StoredAuditRecord> records;
  bool more = false;  // another page follows (cursor: the last record's id)
};

class AuditTrail {
 public:
  // Opens or creates the database and starts the writer. Throws sqlite::SqliteError.
  explicit AuditTrail(AuditTrailOptions options);
  ~AuditTrail();  // writes everything queued, then stops the writer
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Queues one record (thread-safe). Fills at_ms and role when empty; replaces a detail
  // that is not a JSON object by {"text": ...}.
  void record(AuditRecord r);
  // A recorder for the daemon's parts, calling record() on this trail.
  AuditRecorder recorder();
  // Waits until every record queued before the call is committed (tests, shutdown);
  // false when that did not happen within `timeout` (the database cannot be written).
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  AuditPage query(const AuditQuery& q);
  // Records that could not be written (SQLite errors); they are logged, kept queued and retried.
  uint64_t write_failures() const;

 private:
  void writer_loop();
  void write_batch(std::vector<AuditRecord>& batch);

  AuditTrailOptions options_;
  std::unique_ptr<sqlite::Db> writer_db_;
  std::unique_ptr<sqlite::Db> reader_db_;
  std::mutex reader_mutex_;

  mutable std::mutex mutex_;
  std::condition_variable queued_cv_;   // writer waits for records
  std::condition_variable written_cv_;  // flush() and full-queue callers wait for commits
  std::deque<AuditRecord> queue_;
  uint64_t queued_total_ = 0, written_total_ = 0, write_failures_ = 0;
  bool stopping_ = false;
  std::thread writer_;
};

// Unix epoch milliseconds -> "2026-11-25T00:38:55.123Z".
std::string iso_instant(int64_t epoch_ms);
// "2026-11-25", "2026-11-25T00:38:55[.123](Z|+01:00)" or epoch milliseconds -> epoch ms.
std::optional<int64_t> parse_instant(std::string_view text);

}  // namespace phrgate::audit
