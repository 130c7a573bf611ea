// Internal to gateway/queue: the message browser's reads (inbox_browse.cpp) and the
// operators' and retention's writes (inbox_maintenance.cpp), as functions over a connection.
// Writes run only on the committer thread, inside its open transaction, and never change
// or delete a pending row; reads run on a browse connection of their own, so a slow search
// never holds up the pipeline's fetch_pending().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"

namespace phrgate::queue::ops {

// Changes to the per-status counts made by one transaction.
struct StatusDelta {
  int64_t by_status[5] = {0, 0, 0, 0, 0};  // indexed by InboxStatus
  void add(InboxStatus s, int64_t n) { by_status[static_cast<int>(s)] += n; }
};

// ---- reads (browse connection) ----
MessagePage query_messages(sqlite::Db& db, const MessageFilter& filter);
std::vector<DeliveryAttempt> query_attempts(sqlite::Db& db, int64_t inbox_id);
InboxSize query_size(sqlite::Db& db);

// ---- writes (committer thread, inside its transaction) ----
void write_attempts(sqlite::Db& db, const std::vector<DeliveryAttempt>& attempts);
std::optional<InboxStatus> discard_row(sqlite::Db& db, int64_t id, const std::string& reason,
                                       const std::string& actor, int64_t now_ms, StatusDelta& delta);
std::optional<InboxStatus> requeue_row(sqlite::Db& db, int64_t id, StatusDelta& delta);
std::size_t prune_rows(sqlite::Db& db, const PruneRequest& request, StatusDelta& delta);
int64_t incremental_vacuum(sqlite::Db& db, int64_t pages);

}  // namespace phrgate::queue::ops
