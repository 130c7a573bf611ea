// Schema, prepared statements and connection pool of the SQLite PHR store (see
// sqlite_store_connection.h). Values are always bound, never spliced into SQL text.
// Schema history: 1 = resources, resource_history, resource_identifiers; 2 = document_sets,
// document_contributions, deleted_resources (documents replacing earlier versions).
#include "gateway/store/sqlite_store_connection.h"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

namespace phrgate::store::detail {
namespace {

// resources is a rowid table on purpose: its rows carry whole resources, and SQLite advises
// WITHOUT ROWID only for small rows. The (person_id, type, id) index serves the per-person
// searches in their output order; the identifier table is small rows keyed for the
// Patient?identifier= lookup (value first: it is the selective part, system may be absent).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE resources(
  type         TEXT NOT NULL,
  id           TEXT NOT NULL,
  person_id    TEXT NOT NULL,
  version      INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  json         TEXT NOT NULL,
  PRIMARY KEY(type, id));
CREATE INDEX resources_by_person ON resources(person_id, type, id);
CREATE TABLE resource_history(
  type         TEXT NOT NULL,
  id           TEXT NOT NULL,
  version      INTEGER NOT NULL,
  person_id    TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  json         TEXT NOT NULL,
  PRIMARY KEY(type, id, version));
CREATE TABLE resource_identifiers(
  value  TEXT NOT NULL,
  system TEXT NOT NULL,
  type   TEXT NOT NULL,
  id     TEXT NOT NULL,
  PRIMARY KEY(value, system, type, id)) WITHOUT ROWID;
CREATE INDEX resource_identifiers_by_resource ON resource_identifiers(type, id);
PRAGMA user_version = 1;
)sql";

// A document set's latest stored version, what each set contributed, and resources deleted
// because a later version of their document no longer held them (their last content stays in
// resource_history; a later write of the same id continues the version numbers).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE document_sets(
  set_key    TEXT PRIMARY KEY,
  version    INTEGER NOT NULL,
  updated_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE document_contributions(
  set_key TEXT NOT NULL,
  type    TEXT NOT NULL,
  id      TEXT NOT NULL,
  PRIMARY KEY(set_key, type, id)) WITHOUT ROWID;
CREATE INDEX document_contributions_by_resource ON document_contributions(type, id);
CREATE TABLE deleted_resources(
  type       TEXT NOT NULL,
  id         TEXT NOT NULL,
  person_id  TEXT NOT NULL,
  version    INTEGER NOT NULL,
  deleted_at TEXT NOT NULL,
  PRIMARY KEY(type, id)) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

#define PHR_COLUMNS "type, id, person_id, version, last_updated, json"

int read_user_version(sqlite::Db& db) {
  sqlite::Stmt stmt(db, "PRAGMA user_version");
  const int version = stmt.step() ? static_cast<int>(stmt.column_int(0)) : 0;
  stmt.reset();
  return version;
}

}  // namespace

void ensure_schema(sqlite::Db& db) {
  sqlite::Transaction txn(db);  // BEGIN IMMEDIATE: two processes opening at once do not race
  const int version = read_user_version(db);
  if (version > kSchemaVersion) {
    throw std::runtime_error("PHR store schema version " + std::to_string(version) +
                             " is newer than this build supports (" +
                             std::to_string(kSchemaVersion) + ")");
  }
  if (version == 0) db.exec(kSchemaV1);
  if (version < 2) db.exec(kSchemaV2);
  txn.commit();
}

StoreConnection::StoreConnection(const std::string& path)
    : db(path),
      select_hash(db, "SELECT content_hash, person_id FROM resources WHERE type = ?1 AND id = ?2"),
      insert_resource(db,
                      "INSERT INTO resources(type, id, person_id, version, last_updated, "
                      "content_hash, json) VALUES(?1, ?2, ?3, 1 + coalesce((SELECT version "
                      "FROM deleted_resources WHERE type = ?1 AND id = ?2), 0), ?4, ?5, ?6)"),
      undelete(db, "DELETE FROM deleted_resources WHERE type = ?1 AND id = ?2"),
      set_version(db, "SELECT version FROM document_sets WHERE set_key = ?1"),
      upsert_set(db,
                 "INSERT INTO document_sets(set_key, version, updated_at) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(set_key) DO UPDATE SET version = excluded.version, "
                 "updated_at = excluded.updated_at"),
      set_contributions(db, "SELECT type, id FROM document_contributions WHERE set_key = ?1"),
      clear_contributions(db, "DELETE FROM document_contributions WHERE set_key = ?1"),
      add_contribution(db,
                       "INSERT OR IGNORE INTO document_contributions(set_key, type, id) "
                       "VALUES(?1, ?2, ?3)"),
      other_contributor(db,
                        "SELECT 1 FROM document_contributions WHERE type = ?1 AND id = ?2 "
                        "AND set_key <> ?3 LIMIT 1"),
      mark_deleted(db,
                   "INSERT OR REPLACE INTO deleted_resources(type, id, person_id, version, "
                   "deleted_at) SELECT type, id, person_id, version, ?3 FROM resources "
                   "WHERE type = ?1 AND id = ?2"),
      delete_resource(db, "DELETE FROM resources WHERE type = ?1 AND id = ?2"),
      is_deleted(db, "SELECT 1 FROM deleted_resources WHERE type = ?1 AND id = ?2"),
      copy_to_history(db,
                      "INSERT INTO resource_history(type, id, version, person_id, last_updated, "
                      "json) SELECT type, id, version, person_id, last_updated, json "
                      "FROM resources WHERE type = ?1 AND id = ?2"),
      update_resource(db,
                      "UPDATE resources SET person_id = ?3, version = version + 1, "
                      "last_updated = ?4, content_hash = ?5, json = ?6 "
                      "WHERE type = ?1 AND id = ?2"),
      delete_identifiers(db, "DELETE FROM resource_identifiers WHERE type = ?1 AND id = ?2"),
      insert_identifier(db,
                        "INSERT OR IGNORE INTO resource_identifiers(value, system, type, id) "
                        "VALUES(?1, ?2, ?3, ?4)"),
      read_resource(db, "SELECT " PHR_COLUMNS " FROM resources WHERE type = ?1 AND id = ?2"),
      count_ident_any(db,
                      "SELECT count(*) FROM resources WHERE type = 'Patient' AND id IN "
                      "(SELECT id FROM resource_identifiers WHERE value = ?1 "
                      "AND type = 'Patient')"),
      page_ident_any(db,
                     "SELECT " PHR_COLUMNS " FROM resources WHERE type = 'Patient' AND id IN "
                     "(SELECT id FROM resource_identifiers WHERE value = ?1 AND type = 'Patient') "
                     "ORDER BY id LIMIT ?2 OFFSET ?3"),
      count_ident_exact(db,
                        "SELECT count(*) FROM resources WHERE type = 'Patient' AND id IN "
                        "(SELECT id FROM resource_identifiers WHERE value = ?1 AND system = ?2 "
                        "AND type = 'Patient')"),
      page_ident_exact(db,
                       "SELECT " PHR_COLUMNS " FROM resources WHERE type = 'Patient' AND id IN "
                       "(SELECT id FROM resource_identifiers WHERE value = ?1 AND system = ?2 "
                       "AND type = 'Patient') ORDER BY id LIMIT ?3 OFFSET ?4"),
      count_person_type(db, "SELECT count(*) FROM resources WHERE person_id = ?1 AND type = ?2"),
      page_person_type(db,
                       "SELECT " PHR_COLUMNS " FROM resources WHERE person_id = ?1 AND type = ?2 "
                       "ORDER BY type, id LIMIT ?3 OFFSET ?4"),
      count_person(db, "SELECT count(*) FROM resources WHERE person_id = ?1"),
      page_person(db,
                  "SELECT " PHR_COLUMNS " FROM resources WHERE person_id = ?1 "
                  "ORDER BY type, id LIMIT ?2 OFFSET ?3"),
      person_patient(db,
                     "SELECT " PHR_COLUMNS " FROM resources WHERE type = 'Patient' AND id = ?1 "
                     "AND person_id = ?1"),
      page_person_others(db,
                         "SELECT " PHR_COLUMNS " FROM resources WHERE person_id = ?1 "
                         "AND NOT (type = 'Patient' AND id = ?1) "
                         "ORDER BY type, id LIMIT ?2 OFFSET ?3"),
      count_all(db, "SELECT count(*) FROM resources"),
      history_rows(db,
                   "SELECT " PHR_COLUMNS " FROM resource_history WHERE type = ?1 AND id = ?2 "
                   "ORDER BY version DESC") {}

#undef PHR_COLUMNS

ConnectionPool::ConnectionPool(std::string path, std::size_t max_idle)
    : path_(std::move(path)), max_idle_(max_idle) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(conn));
    }
  }
  // Opening is slow-ish (file open, WAL setup, prepares): done outside the lock.
  return Lease(*this, std::make_unique<StoreConnection>(path_));
}

void ConnectionPool::release(std::unique_ptr<StoreConnection> conn) noexcept {
  if (!conn) return;
  sqlite3* handle = conn->db.handle();
  // A call that threw may have left a statement mid-step or a transaction open: clean up so
  // the next borrower starts from a known state (and no read snapshot is pinned).
  for (sqlite3_stmt* s = sqlite3_next_stmt(handle, nullptr); s != nullptr;
       s = sqlite3_next_stmt(handle, s)) {
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
  }
  if (sqlite3_get_autocommit(handle) == 0) {
    if (sqlite3_exec(handle, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return;  // unknown state: close this connection (unique_ptr) rather than reuse it
    }
  }
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace phrgate::store::detail
