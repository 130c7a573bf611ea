// Inbox schema creation and row decoding (see inbox_schema.h). Called once at open by
// open_sqlite_inbox(); never loses existing rows (a migration copies them whole, in one
// transaction: a crash leaves the old version), and refuses a file written by a newer
// phrgate (higher user_version) rather than guess at its layout.
#include "gateway/queue/inbox_schema.h"

#include <stdexcept>
#include <string>

#include "gateway/core/log.h"

namespace phrgate::queue::schema {
namespace {

// Version 1 (kept to document what migrate_v1_to_v2 reads; no longer created).
//   inbox(id, source, sender, control_id, message_type, content_type, status 0..3, error,
//   ack, received_at_ms, completed_at_ms, attempts, mapping_version, payload),
//   inbox_sender_control UNIQUE(sender, control_id) WHERE control_id <> '', inbox_status(status).
//
// Version 2: status 4 (Discarded) and the operator's columns; side tables for patient search
// and delivery attempts; indexes for the message browser. Every list index ends with
// received_at_ms (and the rowid, implicitly), so a filter by one column reads its rows newest
// first straight from the index, and keyset paging is a range on it (no OFFSET, no sort):
//  * inbox_control_sender: dedup of (sender, control_id) (ON CONFLICT) and the browser's
//    control_id lookup, one index for both (partial: an empty control id may repeat).
//  * inbox_pending: the pending rows in id (arrival) order for fetch_pending() and the
//    oldest-pending age; partial, so it stays as small as the backlog.
//  * inbox_status_time: browse by status; retention's oldest rows of a status; the counts
//    per status at open (a covering scan).
//  * inbox_dead_time: dead letters (Failed or Rejected) newest first, without merging two
//    status ranges; partial, so it holds only the dead letters; it carries sender, type and
//    source, so dead letters filtered by them are checked in the index, not row by row.
//  * inbox_sender_type_time: sender and type together (e.g. "ADT from this hospital"): with
//    separate indexes a rare pair would scan all of the sender's rows.
//  * inbox_time, inbox_sender_time, inbox_type_time, inbox_source_time: browse by time and
//    by each of sender, message type and source.
//  * inbox_patient (value, received_at_ms, inbox_id, system) WITHOUT ROWID: the patient
//    identifiers a converted message carried, in the message's time order, so a frequent
//    patient's newest messages come straight from it (system checked in the key) without
//    fetching and sorting all of that patient's rows. inbox_patient_row and
//    delivery_attempts_row serve the per-row lookups (detail view) and retention's deletes.
constexpr const char* kInboxTableV2 = R"sql(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  sender TEXT NOT NULL DEFAULT '',
  control_id TEXT NOT NULL DEFAULT '',
  message_type TEXT NOT NULL DEFAULT '',
  content_type TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
  error TEXT NOT NULL DEFAULT '',
  ack TEXT NOT NULL DEFAULT '',
  received_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  mapping_version TEXT NOT NULL DEFAULT '',
  discard_reason TEXT NOT NULL DEFAULT '',
  discarded_by TEXT NOT NULL DEFAULT '',
  resources TEXT NOT NULL DEFAULT '',
  payload BLOB NOT NULL
)sql";

constexpr const char* kIndexesAndSideTablesV2 = R"sql(
CREATE UNIQUE INDEX inbox_control_sender ON inbox(control_id, sender) WHERE control_id <> '';
CREATE INDEX inbox_pending ON inbox(status) WHERE status = 0;
CREATE INDEX inbox_status_time ON inbox(status, received_at_ms);
CREATE INDEX inbox_dead_time ON inbox(received_at_ms, sender, message_type, source) WHERE status IN (2, 3);
CREATE INDEX inbox_time ON inbox(received_at_ms);
CREATE INDEX inbox_sender_time ON inbox(sender, received_at_ms);
CREATE INDEX inbox_sender_type_time ON inbox(sender, message_type, received_at_ms);
CREATE INDEX inbox_type_time ON inbox(message_type, received_at_ms);
CREATE INDEX inbox_source_time ON inbox(source, received_at_ms);
CREATE TABLE inbox_patient(
  value TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  inbox_id INTEGER NOT NULL,
  system TEXT NOT NULL,
  PRIMARY KEY (value, received_at_ms, inbox_id, system)
) WITHOUT ROWID;
CREATE INDEX inbox_patient_row ON inbox_patient(inbox_id);
CREATE TABLE delivery_attempts(
  id INTEGER PRIMARY KEY,
  inbox_id INTEGER NOT NULL,
  sink TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 2),
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_row ON delivery_attempts(inbox_id);
PRAGMA user_version = 2;
)sql";

// v1 -> v2: the status CHECK cannot be altered in place, so the table is rebuilt (ids kept).
constexpr const char* kCopyV1Rows = R"sql(
INSERT INTO inbox_v2(id, source, sender, control_id, message_type, content_type, status, error,
                     ack, received_at_ms, completed_at_ms, attempts, mapping_version, payload)
  SELECT id, source, sender, control_id, message_type, content_type, status, error, ack,
         received_at_ms, completed_at_ms, attempts, mapping_version, payload FROM inbox;
DROP TABLE inbox;
ALTER TABLE inbox_v2 RENAME TO inbox;
)sql";

void create_v2(sqlite::Db& db, const char* table_name) {
  std::string sql = std::string("CREATE TABLE ") + table_name + "(" + kInboxTableV2 + ");";
  db.exec(sql.c_str());
}

}  // namespace

int user_version(sqlite::Db& db) { return static_cast<int>(pragma_int(db, "PRAGMA user_version")); }

int64_t pragma_int(sqlite::Db& db, const char* pragma) {
  sqlite::Stmt stmt(db, pragma);
  int64_t value = stmt.step() ? stmt.column_int(0) : 0;
  stmt.reset();
  return value;
}

void ensure(sqlite::Db& db, int64_t migrate_vacuum_max_bytes) {
  // Must precede the first table: on a new file, free pages can then be returned later.
  if (user_version(db) == 0 && pragma_int(db, "SELECT count(*) FROM sqlite_master") == 0)
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  bool migrated = false;
  {
    sqlite::Transaction tx(db);  // BEGIN IMMEDIATE: two processes opening at once serialize
    int version = user_version(db);
    if (version > kVersion) {
      throw std::runtime_error("inbox schema version " + std::to_string(version) +
                               " is newer than this build supports (" +
                               std::to_string(kVersion) + ")");
    }
    if (version == 0) {
      create_v2(db, "inbox");
      db.exec(kIndexesAndSideTablesV2);
    } else if (version == 1) {
      create_v2(db, "inbox_v2");
      db.exec(kCopyV1Rows);  // drops the v1 table and with it its indexes
      db.exec(kIndexesAndSideTablesV2);
      migrated = true;
    }
    // Future versions: `if (version < 3) ...` and so on, in order.
    tx.commit();
  }
  if (migrated) log::info("inbox_schema_migrated", {{"from", "1"}, {"to", std::to_string(kVersion)}});
  if (pragma_int(db, "PRAGMA auto_vacuum") == 2) return;
  int64_t bytes = pragma_int(db, "PRAGMA page_count") * pragma_int(db, "PRAGMA page_size");
  if (bytes > migrate_vacuum_max_bytes) {
    log::warn("inbox_incremental_vacuum_off", {{"bytes", std::to_string(bytes)},
               {"action", "free pages are reused; the file does not shrink"}});
    return;
  }
  db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  db.exec("VACUUM");  // rewrites the file; needed for the setting to take effect
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
  row.discard_reason = stmt.column_text(13);
  row.discarded_by = stmt.column_text(14);
  std::string_view resources = stmt.column_text(15);
  while (!resources.empty()) {  // "Type/id" lines
    std::size_t nl = resources.find('\n');
    row.resources.emplace_back(resources.substr(0, nl));
    resources = nl == std::string_view::npos ? std::string_view() : resources.substr(nl + 1);
  }
  row.payload = stmt.column_text(16);
  return row;
}

}  // namespace phrgate::queue::schema
