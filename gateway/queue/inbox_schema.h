// Internal to gateway/queue: the inbox table's schema, its migrations and its SQL texts,
// shared by the committer (writes) and the readers in sqlite_inbox.cpp.
// Nothing outside gateway/queue includes this; values are always bound, never spliced.
#pragma once

#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"

namespace phrgate::queue::schema {

// PRAGMA user_version written by this code; a newer file is refused, an older one migrated.
inline constexpr int kVersion = 1;

// Creates the table and indexes on a new file (user_version 0) or checks the version.
// Runs on the write connection, in one transaction. Throws SqliteError / runtime_error.
void ensure(sqlite::Db& db);

// Column order shared by kSelectRowById and read_row(): payload is last, so reading the
// small columns never walks a large payload's overflow pages.
inline constexpr const char* kSelectRowById =
    "SELECT id, source, sender, control_id, message_type, content_type, status, error, ack,"
    " received_at_ms, completed_at_ms, attempts, mapping_version, payload"
    " FROM inbox WHERE id = ?1";
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
    " attempts = attempts + 1 WHERE id = ?1 AND status = 0";
inline constexpr const char* kStatusById = "SELECT status FROM inbox WHERE id = ?1";
inline constexpr const char* kRecordReplay =
    "UPDATE inbox SET status = ?2, error = ?3, mapping_version = ?4, completed_at_ms = ?5,"
    " attempts = attempts + 1 WHERE id = ?1 AND status IN (1, 2)";
inline constexpr const char* kRelease =
    "UPDATE inbox SET attempts = attempts + 1 WHERE id = ?1 AND status = 0";
inline constexpr const char* kSetAck = "UPDATE inbox SET ack = ?2 WHERE id = ?1";
inline constexpr const char* kPendingIds =
    "SELECT id FROM inbox WHERE status = 0 ORDER BY id LIMIT ?1";
inline constexpr const char* kOldestPending =
    "SELECT received_at_ms FROM inbox WHERE status = 0 ORDER BY id LIMIT 1";
inline constexpr const char* kCountByStatus =
    "SELECT status, count(*) FROM inbox GROUP BY status";

}  // namespace phrgate::queue::schema
