// The operators' and retention's writes to the inbox (see inbox_ops.h): delivery attempts,
// discard, requeue of a rejected row, pruning finished rows with their side-table rows,
// incremental vacuum. Called only by the committer thread inside its open transaction, so
// a failure rolls back with the rest of the batch. Never touches a pending row: every
// UPDATE/DELETE names the statuses it may change in its WHERE clause.

#include <stdexcept>

#include "gateway/queue/inbox_ops.h"
#include "gateway/queue/inbox_schema.h"

namespace phrgate::queue::ops {
namespace {

std::optional<InboxStatus> status_of(sqlite::Db& db, int64_t id) {
  sqlite::Stmt stmt(db, schema::kStatusById);
  stmt.bind(1, id);
  if (!stmt.step()) return std::nullopt;
  return static_cast<InboxStatus>(stmt.column_int(0));
}

}  // namespace

void write_attempts(sqlite::Db& db, const std::vector<DeliveryAttempt>& attempts) {
  if (attempts.empty()) return;
  sqlite::Stmt insert(db, schema::kInsertAttempt);
  for (const DeliveryAttempt& a : attempts) {
    insert.bind(1, a.inbox_id).bind(2, a.sink).bind(3, a.at_ms);
    insert.bind(4, static_cast<int64_t>(a.outcome)).bind(5, a.error).run();
  }
}

std::optional<InboxStatus> discard_row(sqlite::Db& db, int64_t id, const std::string& reason,
                                       const std::string& actor, int64_t now_ms, StatusDelta& delta) {
  std::optional<InboxStatus> before = status_of(db, id);
  if (before != InboxStatus::Failed && before != InboxStatus::Rejected) return before;
  sqlite::Stmt update(db, schema::kDiscard);
  update.bind(1, id).bind(2, reason).bind(3, actor).bind(4, now_ms).run();
  delta.add(*before, -1);
  delta.add(InboxStatus::Discarded, 1);
  return before;
}

std::optional<InboxStatus> requeue_row(sqlite::Db& db, int64_t id, StatusDelta& delta) {
  std::optional<InboxStatus> before = status_of(db, id);
  if (before != InboxStatus::Rejected) return before;
  sqlite::Stmt update(db, schema::kRequeueRejected);
  update.bind(1, id).run();
  delta.add(InboxStatus::Rejected, -1);
  delta.add(InboxStatus::Pending, 1);
  return before;
}

std::size_t prune_rows(sqlite::Db& db, const PruneRequest& request, StatusDelta& delta) {
  for (InboxStatus s : request.statuses)
    if (s == InboxStatus::Pending) throw std::invalid_argument("inbox prune: pending rows are never pruned");
  sqlite::Stmt candidates(db, schema::kPruneCandidates);
  sqlite::Stmt delete_patients(db, schema::kDeletePatientsOfRow);
  sqlite::Stmt delete_attempts(db, schema::kDeleteAttemptsOfRow);
  sqlite::Stmt delete_row(db, schema::kDeleteRow);
  std::size_t deleted = 0;
  for (InboxStatus s : request.statuses) {
    if (deleted >= request.max_rows) break;
    std::vector<int64_t> ids;
    candidates.bind(1, static_cast<int64_t>(s)).bind(2, request.received_before_ms);
    candidates.bind(3, static_cast<int64_t>(request.max_rows - deleted));
    while (candidates.step()) ids.push_back(candidates.column_int(0));
    candidates.reset();
    for (int64_t id : ids) {
      delete_row.bind(1, id).bind(2, static_cast<int64_t>(s)).run();
      if (db.changes() == 0) continue;
      delete_patients.bind(1, id).run();
      delete_attempts.bind(1, id).run();
      delta.add(s, -1);
      ++deleted;
    }
  }
  return deleted;
}

int64_t incremental_vacuum(sqlite::Db& db, int64_t pages) {
  if (schema::pragma_int(db, "PRAGMA auto_vacuum") != 2 || pages <= 0) return 0;
  int64_t before = schema::pragma_int(db, "PRAGMA freelist_count");
  std::string sql = "PRAGMA incremental_vacuum(" + std::to_string(pages) + ")";
  sqlite::Stmt vacuum(db, sql.c_str());
  while (vacuum.step()) {
  }
  vacuum.reset();
  return before - schema::pragma_int(db, "PRAGMA freelist_count");
}

}  // namespace phrgate::queue::ops
