// Internal to phrgate_store: the SQLite schema of the PHR store, one connection with its
// prepared statements, and the pool that lends each calling thread a connection of its own.
// Used only by sqlite_phr_store.cpp. A connection is used by one thread at a time and is never
// handed back to the pool with an open transaction or a statement left mid-step.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"

namespace phrgate::store::detail {

// Creates the schema on an empty database (PRAGMA user_version 0 -> kSchemaVersion) inside one
// transaction; throws std::runtime_error when the file has a newer schema than this build.
inline constexpr int kSchemaVersion = 2;
void ensure_schema(sqlite::Db& db);

// Column list every resource-returning statement selects, in this order.
inline constexpr int kColType = 0, kColId = 1, kColPerson = 2, kColVersion = 3,
                     kColLastUpdated = 4, kColJson = 5;

struct StoreConnection {
  explicit StoreConnection(const std::string& path);

  sqlite::Db db;
  // write()
  sqlite::Stmt select_hash;        // (type, id) -> content_hash, person_id
  sqlite::Stmt insert_resource;    // (type, id, person, last_updated, hash, json), version 1
                                   // (or the deleted version + 1)
  sqlite::Stmt undelete;           // (type, id): forget a deletion once written again
  // write_document()
  sqlite::Stmt set_version;        // (set) -> stored version
  sqlite::Stmt upsert_set;         // (set, version, updated_at)
  sqlite::Stmt set_contributions;  // (set) -> type, id
  sqlite::Stmt clear_contributions;  // (set)
  sqlite::Stmt add_contribution;   // (set, type, id)
  sqlite::Stmt other_contributor;  // (type, id, set) -> a row when another set holds it
  sqlite::Stmt mark_deleted;       // (type, id, deleted_at): current row -> deleted_resources
  sqlite::Stmt delete_resource;    // (type, id)
  sqlite::Stmt is_deleted;         // (type, id)
  sqlite::Stmt copy_to_history;    // (type, id): current row -> resource_history
  sqlite::Stmt update_resource;    // (type, id, person, last_updated, hash, json), version+1
  sqlite::Stmt delete_identifiers; // (type, id)
  sqlite::Stmt insert_identifier;  // (value, system, type, id)
  // reads
  sqlite::Stmt read_resource;        // (type, id)
  sqlite::Stmt count_ident_any;      // (value)
  sqlite::Stmt page_ident_any;       // (value, limit, offset)
  sqlite::Stmt count_ident_exact;    // (value, system)
  sqlite::Stmt page_ident_exact;     // (value, system, limit, offset)
  sqlite::Stmt count_person_type;    // (person, type)
  sqlite::Stmt page_person_type;     // (person, type, limit, offset)
  sqlite::Stmt count_person;         // (person)
  sqlite::Stmt page_person;          // (person, limit, offset), all types
  sqlite::Stmt person_patient;       // (person): the Patient whose id is the person id
  sqlite::Stmt page_person_others;   // (person, limit, offset): all but that Patient
  sqlite::Stmt count_all;            // ()
  sqlite::Stmt history_rows;         // (type, id): previous versions, newest first
};

// Lends connections: acquire() takes an idle one or opens a new one, so each concurrently
// calling thread works on its own connection (WAL: readers never wait for the writer). At most
// `max_idle` connections are kept open between calls.
class ConnectionPool {
 public:
  ConnectionPool(std::string path, std::size_t max_idle);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<StoreConnection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    ~Lease() { pool_->release(std::move(conn_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    StoreConnection* operator->() const { return conn_.get(); }
    StoreConnection& operator*() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<StoreConnection> conn_;
  };

  Lease acquire();

 private:
  void release(std::unique_ptr<StoreConnection> conn) noexcept;

  std::string path_;
  std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<StoreConnection>> idle_;
};

}  // namespace phrgate::store::detail
