// Inbox schema creation and row decoding (see inbox_schema.h). Called once at open by
// open_sqlite_inbox(); never drops or rewrites existing rows, and refuses a file written by
// a newer phrgate (higher user_version) rather than guess at its layout.
#include "gateway/queue/inbox_schema.h"

#include <stdexcept>
#include <string>

namespace phrgate::queue::schema {
namespace {

// Version 1. Indexes:
//  * inbox_sender_control: dedup of (sender, control_id) and its lookup; partial, because an
//    empty control id means "no dedup key" and may repeat.
//  * inbox_status: (status, id) in effect, since every index ends with the rowid. Serves the
//    pending rows oldest first (status = 0, in id order = arrival order) for fetch_pending()
//    and the oldest-pending age, and the counts per status at open (a covering scan).
//    A separate partial index WHERE status = 0 would duplicate it: SQLite's planner picks
//    this one for both queries, so it would only cost writes.
constexpr const char* kCreateV1 = R"sql(
CREATE TABLE inbox(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  sender TEXT NOT NULL DEFAULT '',
  control_id TEXT NOT NULL DEFAULT '',
  message_type TEXT NOT NULL DEFAULT '',
  content_type TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
  error TEXT NOT NULL DEFAULT '',
  ack TEXT NOT NULL DEFAULT '',
  received_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  mapping_version TEXT NOT NULL DEFAULT '',
  payload BLOB NOT NULL
);
CREATE UNIQUE INDEX inbox_sender_control ON inbox(sender, control_id) WHERE control_id <> '';
CREATE INDEX inbox_status ON inbox(status);
PRAGMA user_version = 1;
)sql";

int user_version(sqlite::Db& db) {
  sqlite::Stmt stmt(db, "PRAGMA user_version");
  int version = stmt.step() ? static_cast<int>(stmt.column_int(0)) : 0;
  stmt.reset();
  return version;
}

}  // namespace

void ensure(sqlite::Db& db) {
  sqlite::Transaction tx(db);  // BEGIN IMMEDIATE: two processes opening at once serialize
  int version = user_version(db);
  if (version > kVersion) {
    throw std::runtime_error("inbox schema version " + std::to_string(version) +
                             " is newer than this build supports (" +
                             std::to_string(kVersion) + ")");
  }
  if (version == 0) db.exec(kCreateV1);
  // Future versions: `if (version < 2) db.exec(kMigrateV1ToV2);` and so on, in order.
  tx.commit();
}

InboxRow read_row(const sqlite::Stmt& stmt) {
  InboxRow row;
  row.id = stmt.column_int(0);
  row.source = stmt.column_text(1);
  row.sender = stmt.column_text(2);
  row.control_id = stmt.column_text(3);
  row.message_type = stmt.column_text(4);
  row.content_type = stmt.column_text(5);
  row.status = static_cast<InboxStatus>(stmt.column_int(6));
  row.error = stmt.column_text(7);
  row.ack = stmt.column_text(8);
  row.received_at_ms = stmt.column_int(9);
  if (!stmt.column_is_null(10)) row.completed_at_ms = stmt.column_int(10);
  row.attempts = static_cast<int>(stmt.column_int(11));
  row.mapping_version = stmt.column_text(12);
  row.payload = stmt.column_text(13);
  return row;
}

}  // namespace phrgate::queue::schema
