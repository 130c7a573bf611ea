// SqlitePhrStore: the PhrStore on one SQLite file (WAL), shared by the pipeline worker (writer)
// and the HTTP threads (readers). Each call borrows a connection of its own from a pool, so
// readers work on a WAL snapshot and never wait for the writer. write() is one BEGIN IMMEDIATE
// transaction; a crash before COMMIT leaves nothing of it, so a replay simply writes again.
// It must never splice values into SQL or log resource content, ids or identifiers.
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "gateway/core/resource_id.h"
#include "gateway/core/sqlite_db.h"
#include "gateway/store/patient_identifiers.h"
#include "gateway/store/phr_store.h"
#include "gateway/store/sqlite_store_connection.h"
#include "gateway/store/stored_json.h"

namespace phrgate::store {
namespace {

using detail::ConnectionPool;
using detail::StoreConnection;

constexpr std::size_t kMaxIdleConnections = 8;

bool is_resource_type(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  for (char c : type)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  return true;
}

// Converters are trusted, but a malformed resource would poison the read API: refuse the
// whole write (the transaction rolls back). Messages name the type only, never ids or content.
void check_writable(const FhirResource& r) {
  if (!is_resource_type(r.type)) throw std::invalid_argument("PhrStore::write: bad resource type");
  if (!is_fhir_id(r.id))
    throw std::invalid_argument("PhrStore::write: " + r.type + " has an invalid id");
  if (!is_fhir_id(r.person_id))
    throw std::invalid_argument("PhrStore::write: " + r.type + " has an invalid person id");
  if (r.json.size() < 2 || r.json.front() != '{' || r.json.back() != '}')
    throw std::invalid_argument("PhrStore::write: " + r.type + " json is not an object");
}

// Reads the current row of `stmt` (columns in detail::kCol* order) into a served resource.
StoredResource row_to_resource(const sqlite::Stmt& stmt) {
  StoredResource out;
  out.type = stmt.column_text(detail::kColType);
  out.id = stmt.column_text(detail::kColId);
  out.person_id = stmt.column_text(detail::kColPerson);
  out.version = stmt.column_int(detail::kColVersion);
  out.last_updated = stmt.column_text(detail::kColLastUpdated);
  out.json = splice_meta(stmt.column_text(detail::kColJson), out.version, out.last_updated);
  return out;
}

void collect_rows(sqlite::Stmt& stmt, std::vector<StoredResource>& out) {
  while (stmt.step()) out.push_back(row_to_resource(stmt));
  stmt.reset();
}

int64_t single_count(sqlite::Stmt& stmt) {
  const int64_t n = stmt.step() ? stmt.column_int(0) : 0;
  stmt.reset();
  return n;
}

// A read transaction so that a page and its total come from the same snapshot.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(sqlite::Db& db) : db_(db) { db_.exec("BEGIN DEFERRED"); }
  ~ReadSnapshot() {
    try {
      db_.exec("COMMIT");
    } catch (...) {
      // The pool rolls back a connection returned with an open transaction.
    }
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  sqlite::Db& db_;
};

// Writes one resource inside the caller's transaction: identical content is left alone, changed
// content becomes a new version (the old one goes to history), and its identifiers are indexed.
void upsert(StoreConnection& conn, const FhirResource& r, const std::string& now, WriteStats& stats) {
  const std::string hash = sha256_hex(r.json);
  auto& select = conn.select_hash;
  select.bind(1, r.type).bind(2, r.id);
  const bool exists = select.step();
  const bool same = exists && select.column_text(0) == hash && select.column_text(1) == r.person_id;
  select.reset();

  if (same || (exists && r.only_if_absent)) {  // identical, or a conditional create of an existing one
    ++stats.unchanged;
    return;
  }
  if (exists) {
    conn.copy_to_history.bind(1, r.type).bind(2, r.id).run();
    conn.update_resource.bind(1, r.type).bind(2, r.id).bind(3, r.person_id).bind(4, now);
    conn.update_resource.bind(5, hash).bind(6, r.json).run();
    ++stats.updated;
  } else {
    conn.insert_resource.bind(1, r.type).bind(2, r.id).bind(3, r.person_id).bind(4, now);
    conn.insert_resource.bind(5, hash).bind(6, r.json).run();
    conn.undelete.bind(1, r.type).bind(2, r.id).run();
    ++stats.created;
  }
  conn.delete_identifiers.bind(1, r.type).bind(2, r.id).run();
  for (const auto& [system, value] : r.identifiers) {
    if (value.empty()) continue;  // nothing to search for
    conn.insert_identifier.bind(1, value).bind(2, system).bind(3, r.type).bind(4, r.id).run();
  }
}

// The search identifiers of Patient/<id>.
IdentifierPairs patient_identifiers(StoreConnection& conn, const std::string& id) {
  IdentifierPairs out;
  sqlite::Stmt select(conn.db, "SELECT system, value FROM resource_identifiers WHERE type = 'Patient' AND id = ?1");
  select.bind(1, id);
  while (select.step()) out.emplace_back(std::string(select.column_text(0)), std::string(select.column_text(1)));
  return out;
}

// Writes a new version of Patient/<id> with `json` and `ids` (inside the caller's transaction).
void rewrite_patient(StoreConnection& conn, const std::string& id, const std::string& json, const IdentifierPairs& ids,
                     const std::string& now) {
  conn.copy_to_history.bind(1, "Patient").bind(2, id).run();
  conn.update_resource.bind(1, "Patient").bind(2, id).bind(3, id).bind(4, now);
  conn.update_resource.bind(5, sha256_hex(json)).bind(6, json).run();
  conn.delete_identifiers.bind(1, "Patient").bind(2, id).run();
  for (const auto& [system, value] : ids)
    conn.insert_identifier.bind(1, value).bind(2, system).bind(3, "Patient").bind(4, id).run();
}

class SqlitePhrStore final : public PhrStore {
 public:
  explicit SqlitePhrStore(const std::string& path)
      : pool_((create_or_check_schema(path), path), kMaxIdleConnections) {}

  WriteStats write(const std::vector<FhirResource>& resources) override {
    std::vector<const FhirResource*> all;
    all.reserve(resources.size());
    for (const auto& r : resources) all.push_back(&r);
    return write_all(all);
  }

  WriteStats write_all(const std::vector<const FhirResource*>& resources) override {
    for (const auto* r : resources) check_writable(*r);
    WriteStats stats;
    if (resources.empty()) return stats;

    std::lock_guard writer(write_mutex_);  // in-process writers queue here, not in busy waits
    auto conn = pool_.acquire();
    sqlite::Transaction txn(conn->db);
    const std::string now = fhir_instant_now();
    for (const auto* rp : resources) upsert(*conn, *rp, now, stats);
    txn.commit();
    return stats;
  }

  WriteStats write_document(std::string_view document_set, int64_t version,
                            const std::vector<const FhirResource*>& resources) override {
    if (document_set.empty()) throw std::invalid_argument("PhrStore::write_document: empty document set");
    for (const auto* r : resources) check_writable(*r);
    WriteStats stats;
    std::lock_guard writer(write_mutex_);
    auto conn = pool_.acquire();
    sqlite::Transaction txn(conn->db);
    const std::string now = fhir_instant_now();
    auto& stored = conn->set_version;
    stored.bind(1, document_set);
    const bool known = stored.step();
    const int64_t stored_version = known ? stored.column_int(0) : 0;
    stored.reset();
    if (known && stored_version > version) {
      stats.older_version = true;
      return stats;  // the transaction rolls back: nothing to keep
    }
    for (const auto* r : resources) upsert(*conn, *r, now, stats);

    // What earlier versions contributed and this one no longer holds.
    std::vector<std::pair<std::string, std::string>> dropped;
    auto& previous = conn->set_contributions;
    previous.bind(1, document_set);
    while (previous.step()) {
      std::string type(previous.column_text(0)), id(previous.column_text(1));
      bool still_held = false;
      for (const auto* r : resources)
        if (r->type == type && r->id == id) { still_held = true; break; }
      if (!still_held) dropped.emplace_back(std::move(type), std::move(id));
    }
    previous.reset();
    conn->clear_contributions.bind(1, document_set).run();
    for (const auto* r : resources)
      conn->add_contribution.bind(1, document_set).bind(2, r->type).bind(3, r->id).run();
    for (const auto& [type, id] : dropped) {
      if (is_shared_resource_type(type)) continue;
      auto& other = conn->other_contributor;
      other.bind(1, type).bind(2, id).bind(3, document_set);
      const bool held_elsewhere = other.step();
      other.reset();
      if (held_elsewhere) continue;
      conn->copy_to_history.bind(1, type).bind(2, id).run();
      conn->mark_deleted.bind(1, type).bind(2, id).bind(3, now).run();
      conn->delete_resource.bind(1, type).bind(2, id).run();
      if (conn->db.changes() > 0) ++stats.deleted;
      conn->delete_identifiers.bind(1, type).bind(2, id).run();
    }
    conn->upsert_set.bind(1, document_set).bind(2, version).bind(3, now).run();
    txn.commit();
    return stats;
  }

  int64_t reassign_person(std::string_view from, std::string_view to) override {
    if (from == to) return 0;
    if (!is_fhir_id(from) || !is_fhir_id(to)) throw std::invalid_argument("PhrStore::reassign_person: invalid person id");
    std::lock_guard writer(write_mutex_);
    auto conn = pool_.acquire();
    sqlite::Transaction txn(conn->db);
    const std::string now = fhir_instant_now();
    const std::string from_s(from), to_s(to);
    struct Row {
      std::string type, id, json;
    };
    std::vector<Row> rows;
    {
      sqlite::Stmt select(conn->db, "SELECT type, id, json FROM resources WHERE person_id = ?1");
      select.bind(1, from);
      while (select.step())
        rows.push_back({std::string(select.column_text(0)), std::string(select.column_text(1)),
                        std::string(select.column_text(2))});
    }
    int64_t moved = 0;
    std::optional<Row> merged_patient;
    for (auto& r : rows) {
      if (r.type == "Patient" && r.id == from_s) {
        merged_patient = std::move(r);
        continue;
      }
      // Ids are UUID-shaped hashes: the old person id appears only where it means the Patient.
      for (std::size_t pos = r.json.find(from_s); pos != std::string::npos; pos = r.json.find(from_s, pos + to_s.size()))
        r.json.replace(pos, from_s.size(), to_s);
      conn->copy_to_history.bind(1, r.type).bind(2, r.id).run();
      conn->update_resource.bind(1, r.type).bind(2, r.id).bind(3, to).bind(4, now);
      conn->update_resource.bind(5, sha256_hex(r.json)).bind(6, r.json).run();
      ++moved;
    }
    if (merged_patient) {
      IdentifierPairs from_ids = patient_identifiers(*conn, from_s);
      std::string json;
      {
        auto& read = conn->read_resource;
        read.bind(1, "Patient").bind(2, to);
        if (read.step()) json = std::string(read.column_text(detail::kColJson));
        read.reset();
      }
      if (!json.empty()) {
        IdentifierPairs to_ids = patient_identifiers(*conn, to_s);
        if (add_patient_identifiers(json, to_ids, from_ids)) rewrite_patient(*conn, to_s, json, to_ids, now);
      }
      conn->copy_to_history.bind(1, "Patient").bind(2, from).run();
      conn->mark_deleted.bind(1, "Patient").bind(2, from).bind(3, now).run();
      conn->delete_resource.bind(1, "Patient").bind(2, from).run();
      conn->delete_identifiers.bind(1, "Patient").bind(2, from).run();
    }
    txn.commit();
    return moved;
  }

  bool remove_patient_identifier(std::string_view person, const std::string& system,
                                 const std::string& value) override {
    std::lock_guard writer(write_mutex_);
    auto conn = pool_.acquire();
    sqlite::Transaction txn(conn->db);
    std::string json;
    {
      auto& read = conn->read_resource;
      read.bind(1, "Patient").bind(2, person);
      if (read.step()) json = std::string(read.column_text(detail::kColJson));
      read.reset();
    }
    if (json.empty()) return false;
    const std::string person_s(person);
    IdentifierPairs ids = patient_identifiers(*conn, person_s);
    if (!store::remove_patient_identifier(json, ids, system, value)) return false;
    rewrite_patient(*conn, person_s, json, ids, fhir_instant_now());
    txn.commit();
    return true;
  }

  bool was_deleted(std::string_view type, std::string_view id) override {
    auto conn = pool_.acquire();
    auto& stmt = conn->is_deleted;
    stmt.bind(1, type).bind(2, id);
    const bool deleted = stmt.step();
    stmt.reset();
    return deleted;
  }

  std::optional<StoredResource> read(std::string_view type, std::string_view id) override {
    auto conn = pool_.acquire();
    auto& stmt = conn->read_resource;
    stmt.bind(1, type).bind(2, id);
    std::optional<StoredResource> out;
    if (stmt.step()) out = row_to_resource(stmt);
    stmt.reset();
    return out;
  }

  SearchPage find_patients_by_identifier(std::string_view system, std::string_view value,
                                         int64_t offset, int64_t count) override {
    if (!system.empty()) return find_patients_by_exact_identifier(system, value, offset, count);
    auto conn = pool_.acquire();
    ReadSnapshot snapshot(conn->db);
    SearchPage page;
    page.total = single_count(conn->count_ident_any.bind(1, value));
    if (count > 0 && page.total > 0) {
      conn->page_ident_any.bind(1, value).bind(2, count).bind(3, clamp_offset(offset));
      collect_rows(conn->page_ident_any, page.resources);
    }
    return page;
  }

  SearchPage find_patients_by_exact_identifier(std::string_view system, std::string_view value,
                                               int64_t offset, int64_t count) override {
    auto conn = pool_.acquire();
    ReadSnapshot snapshot(conn->db);
    SearchPage page;
    page.total = single_count(conn->count_ident_exact.bind(1, value).bind(2, system));
    if (count > 0 && page.total > 0) {
      conn->page_ident_exact.bind(1, value).bind(2, system).bind(3, count);
      conn->page_ident_exact.bind(4, clamp_offset(offset));
      collect_rows(conn->page_ident_exact, page.resources);
    }
    return page;
  }

  SearchPage find_by_person(std::string_view person_id, std::string_view type, int64_t offset,
                            int64_t count) override {
    auto conn = pool_.acquire();
    ReadSnapshot snapshot(conn->db);
    SearchPage page;
    if (type.empty()) {
      page.total = single_count(conn->count_person.bind(1, person_id));
      if (count > 0 && page.total > 0) {
        conn->page_person.bind(1, person_id).bind(2, count).bind(3, clamp_offset(offset));
        collect_rows(conn->page_person, page.resources);
      }
      return page;
    }
    page.total = single_count(conn->count_person_type.bind(1, person_id).bind(2, type));
    if (count > 0 && page.total > 0) {
      conn->page_person_type.bind(1, person_id).bind(2, type).bind(3, count);
      conn->page_person_type.bind(4, clamp_offset(offset));
      collect_rows(conn->page_person_type, page.resources);
    }
    return page;
  }

  // The sequence is [the person's own Patient] + [everything else ordered by type, id]; both
  // parts come from the (person_id, type, id) index, so no sort of whole rows is needed.
  SearchPage everything(std::string_view person_id, int64_t offset, int64_t count) override {
    auto conn = pool_.acquire();
    ReadSnapshot snapshot(conn->db);
    SearchPage page;
    page.total = single_count(conn->count_person.bind(1, person_id));
    if (count <= 0 || page.total == 0) return page;

    offset = clamp_offset(offset);
    auto& patient = conn->person_patient;
    patient.bind(1, person_id);
    const bool has_patient = patient.step();
    if (has_patient && offset == 0) {
      page.resources.push_back(row_to_resource(patient));
      --count;
    }
    patient.reset();
    const int64_t others_offset = has_patient ? (offset > 0 ? offset - 1 : 0) : offset;
    if (count > 0) {
      conn->page_person_others.bind(1, person_id).bind(2, count).bind(3, others_offset);
      collect_rows(conn->page_person_others, page.resources);
    }
    return page;
  }

  int64_t count_resources() override {
    auto conn = pool_.acquire();
    return single_count(conn->count_all);
  }

  std::vector<StoredResource> history(std::string_view type, std::string_view id) override {
    auto conn = pool_.acquire();
    ReadSnapshot snapshot(conn->db);
    std::vector<StoredResource> out;
    auto& current = conn->read_resource;
    current.bind(1, type).bind(2, id);
    if (current.step()) out.push_back(row_to_resource(current));
    current.reset();  // a deleted resource has no current row, only its history
    conn->history_rows.bind(1, type).bind(2, id);
    collect_rows(conn->history_rows, out);
    return out;
  }

 private:
  // Pooled connections prepare their statements when opened, so the tables must exist first.
  static void create_or_check_schema(const std::string& path) {
    sqlite::Db db(path);
    detail::ensure_schema(db);
  }
  static int64_t clamp_offset(int64_t offset) { return offset < 0 ? 0 : offset; }

  ConnectionPool pool_;
  std::mutex write_mutex_;
};

}  // namespace

bool is_shared_resource_type(std::string_view type) {
  return type == "Patient" || type == "Practitioner" || type == "PractitionerRole" ||
         type == "Organization" || type == "Location" || type == "Medication" || type == "Device";
}

std::unique_ptr<PhrStore> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqlitePhrStore>(path);
}

}  // namespace phrgate::store
