// Internal to gateway/queue: the inbox table's schema, its migrations and its SQL texts,
// shared by the committer (writes) and the readers in sqlite_inbox.cpp.
// Nothing outside gateway/queue includes this; values are always bound, never spliced.
#pragma once

#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"

namespace phrgate::queue::schema {

// PRAGMA user_version written by this code; a newer file is refused, an older one migrated.
inline constexpr int kVersion = 2;

// Creates the tables and indexes on a new file (user_version 0, auto_vacuum=INCREMENTAL),
// migrates an older one in one transaction (v1 -> v2 rebuilds the inbox table: a new status
// and columns), or checks the version. A migrated file no larger than
// `migrate_vacuum_max_bytes` is then VACUUMed into auto_vacuum=INCREMENTAL. Runs on the
// write connection before any other connection opens. Throws SqliteError / runtime_error.
void ensure(sqlite::Db& db, int64_t migrate_vacuum_max_bytes);
int user_version(sqlite::Db& db);
int64_t pragma_int(sqlite::Db& db, const char* pragma);

// Column order shared by kSelectRowById and read_row(): payload is last, so reading the
// small columns never walks a large payload's overflow pages.
inline constexpr const char* kSelectRowById =
    "SELECT id, source, sender, control_id, message_type, content_type, status, error, ack,"
    " received_at_ms, completed_at_ms, attempts, mapping_version, discard_reason, discarded_by,"
    " resources, payload FROM inbox WHERE id = ?1";
InboxRow read_row(const sqlite::Stmt& stmt);

inline constexpr const char* kInsert =
    "INSERT INTO inbox(source, sender, control_id, message_type, content_type, status, error,"
    " ack, received_at_ms, attempts, mapping_version, payload)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '', ?10)"
    " ON CONFLICT(sender, control_id) WHERE control_id <> '' DO NOTHING";
inline constexpr const char* kFindByKey =
    "SELECT id FROM inbox WHERE sender = ?1 AND control_id = ?2 AND control_id <> ''";
inline constexpr const char* kComplete =
    "UPDATE inbox SET status = ?2, error = ?3, mapping_version = ?4, completed_at_ms = ?5,"
    " attempts = attempts + 1, resources = ?6 WHERE id = ?1 AND status = 0";
inline constexpr const char* kInsertPatient =
    "INSERT OR IGNORE INTO inbox_patient(value, system, received_at_ms, inbox_id)"
    " SELECT ?1, ?2, received_at_ms, id FROM inbox WHERE id = ?3";
inline constexpr const char* kInsertAttempt =
    "INSERT INTO delivery_attempts(inbox_id, sink, at_ms, outcome, error) VALUES(?1, ?2, ?3, ?4, ?5)";
inline constexpr const char* kAttemptsByRow =
    "SELECT inbox_id, sink, at_ms, outcome, error FROM delivery_attempts WHERE inbox_id = ?1"
    " ORDER BY id";
inline constexpr const char* kDiscard =
    "UPDATE inbox SET status = 4, discard_reason = ?2, discarded_by = ?3, completed_at_ms = ?4"
    " WHERE id = ?1 AND status IN (2, 3)";
inline constexpr const char* kRequeueRejected =
    "UPDATE inbox SET status = 0, completed_at_ms = NULL WHERE id = ?1 AND status = 3";
// Retention: oldest rows of one status first (inbox_status_time), then their side rows.
inline constexpr const char* kPruneCandidates =
    "SELECT id FROM inbox INDEXED BY inbox_status_time WHERE status = ?1 AND received_at_ms < ?2"
    " ORDER BY received_at_ms LIMIT ?3";
inline constexpr const char* kDeletePatientsOfRow = "DELETE FROM inbox_patient WHERE inbox_id = ?1";
inline constexpr const char* kDeleteAttemptsOfRow = "DELETE FROM delivery_attempts WHERE inbox_id = ?1";
inline constexpr const char* kDeleteRow = "DELETE FROM inbox WHERE id = ?1 AND status = ?2";
inline constexpr const char* kStatusById = "SELECT status FROM inbox WHERE id = ?1";
inline constexpr const char* kRecordReplay =
    "UPDATE inbox SET status = ?2, error = ?3, mapping_version = ?4, completed_at_ms = ?5,"
    " attempts = attempts + 1 WHERE id = ?1 AND status IN (1, 2)";
inline constexpr const char* kRelease =
    "UPDATE inbox SET attempts = attempts + 1 WHERE id = ?1 AND status = 0";
inline constexpr const char* kSetAck = "UPDATE inbox SET ack = ?2 WHERE id = ?1";
inline constexpr const char* kPendingIds =
    "SELECT id FROM inbox INDEXED BY inbox_pending WHERE status = 0 ORDER BY id LIMIT ?1";
inline constexpr const char* kOldestPending =
    "SELECT received_at_ms FROM inbox INDEXED BY inbox_pending WHERE status = 0 ORDER BY id LIMIT 1";
inline constexpr const char* kCountByStatus =
    "SELECT status, count(*) FROM inbox GROUP BY status";

}  // namespace phrgate::queue::schema
