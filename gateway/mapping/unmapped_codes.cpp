// Implementation of the unmapped-code tally and its SQLite file (see unmapped_codes.h).
// The collector runs inside the pipeline's conversion loop: a repeated code costs one hash
// lookup with a reused key buffer. The store's values are always bound, never spliced.
#include "gateway/mapping/unmapped_codes.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "gateway/core/sqlite_db.h"

namespace phrgate::mapping {

// ------------------------------------------------------------------------ collector

void UnmappedCodeCollector::begin_message(int64_t tag) { tag_ = tag; }

void UnmappedCodeCollector::unmapped(std::string_view source, std::string_view system,
                                     std::string_view code, std::string_view display) {
  key_.clear();
  key_.append(source).push_back('\x1f');
  key_.append(system).push_back('\x1f');
  key_.append(code);
  std::size_t entry;
  if (auto it = index_.find(key_); it != index_.end()) {
    entry = it->second;
    UnmappedCode& e = entries_[entry];
    if (e.display.empty() && !display.empty()) e.display.assign(display);
  } else {
    entry = entries_.size();
    entries_.push_back(UnmappedCode{std::string(source), std::string(system), std::string(code),
                                    std::string(display), 0, 0, 0});
    index_.emplace(key_, entry);
  }
  ++entries_[entry].count;
  if (!occurrences_.empty() && occurrences_.back().tag == tag_ && occurrences_.back().entry == entry)
    ++occurrences_.back().n;
  else
    occurrences_.push_back({tag_, entry, 1});
}

void UnmappedCodeCollector::discard(int64_t tag) {
  for (Occurrence& o : occurrences_) {
    if (o.tag != tag || o.n == 0) continue;
    entries_[o.entry].count -= o.n;
    o.n = 0;
  }
}

std::vector<UnmappedCode> UnmappedCodeCollector::take(int64_t now_ms) {
  std::vector<UnmappedCode> out;
  out.reserve(entries_.size());
  for (UnmappedCode& e : entries_) {
    if (e.count <= 0) continue;
    e.first_seen_ms = now_ms;
    e.last_seen_ms = now_ms;
    out.push_back(std::move(e));
  }
  clear();
  return out;
}

void UnmappedCodeCollector::clear() {
  entries_.clear();
  index_.clear();
  occurrences_.clear();
  tag_ = 0;
}

// ------------------------------------------------------------------------ store

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kCreate = R"sql(
CREATE TABLE unmapped_codes(
  source TEXT NOT NULL,
  system TEXT NOT NULL,
  code TEXT NOT NULL,
  display TEXT NOT NULL DEFAULT '',
  count INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (source, system, code)
) WITHOUT ROWID;
CREATE INDEX unmapped_codes_by_count ON unmapped_codes(count DESC, source, system, code);
PRAGMA user_version = 1;
)sql";

constexpr const char* kUpsert =
    "INSERT INTO unmapped_codes(source, system, code, display, count, first_seen_ms, last_seen_ms)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT(source, system, code) DO UPDATE SET"
    "  count = count + excluded.count,"
    "  first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),"
    "  last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
    "  display = CASE WHEN excluded.display <> '' THEN excluded.display ELSE display END";

constexpr const char* kList =
    "SELECT source, system, code, display, count, first_seen_ms, last_seen_ms FROM unmapped_codes"
    " WHERE ?1 = '' OR source = ?1"
    " ORDER BY count DESC, source, system, code LIMIT ?2 OFFSET ?3";

constexpr const char* kCount = "SELECT count(*) FROM unmapped_codes WHERE ?1 = '' OR source = ?1";

void ensure_schema(sqlite::Db& db) {
  sqlite::Transaction tx(db);
  int version = 0;
  {
    sqlite::Stmt stmt(db, "PRAGMA user_version");
    if (stmt.step()) version = static_cast<int>(stmt.column_int(0));
  }
  if (version > kSchemaVersion)
    throw std::runtime_error("unmapped codes schema version " + std::to_string(version) +
                             " is newer than this build supports");
  if (version == 0) db.exec(kCreate);
  tx.commit();
}

sqlite::Db& with_schema(sqlite::Db& db) {
  ensure_schema(db);
  return db;
}

// Resets a statement at scope end, so no read transaction outlives its query.
struct ResetOnExit {
  sqlite::Stmt& stmt;
  ~ResetOnExit() { stmt.reset(); }
};

}  // namespace

struct UnmappedCodeStore::Impl {
  explicit Impl(const std::string& path)
      : db(path), upsert(with_schema(db), kUpsert), list(db, kList), count(db, kCount) {}
  std::mutex mutex;
  sqlite::Db db;
  sqlite::Stmt upsert;
  sqlite::Stmt list;
  sqlite::Stmt count;
};

UnmappedCodeStore::UnmappedCodeStore(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
UnmappedCodeStore::~UnmappedCodeStore() = default;

void UnmappedCodeStore::record(const std::vector<UnmappedCode>& codes) {
  if (codes.empty()) return;
  std::lock_guard lock(impl_->mutex);
  sqlite::Transaction tx(impl_->db);
  for (const UnmappedCode& c : codes) {
    impl_->upsert.bind(1, c.source).bind(2, c.system).bind(3, c.code).bind(4, c.display);
    impl_->upsert.bind(5, c.count).bind(6, c.first_seen_ms).bind(7, c.last_seen_ms);
    impl_->upsert.run();
  }
  tx.commit();
}

UnmappedCodeStore::Page UnmappedCodeStore::list(std::string_view source, int64_t offset, int64_t count) {
  Page page;
  std::lock_guard lock(impl_->mutex);
  {
    sqlite::Stmt& s = impl_->count;
    ResetOnExit reset{s};
    s.bind(1, source.empty() ? std::string_view("") : source);  // never a null pointer (SQL NULL)
    if (s.step()) page.total = s.column_int(0);
  }
  if (count <= 0) return page;
  sqlite::Stmt& s = impl_->list;
  ResetOnExit reset{s};
  s.bind(1, source.empty() ? std::string_view("") : source).bind(2, count).bind(3, std::max<int64_t>(offset, 0));
  while (s.step()) {
    page.codes.push_back(UnmappedCode{std::string(s.column_text(0)), std::string(s.column_text(1)),
                                      std::string(s.column_text(2)), std::string(s.column_text(3)),
                                      s.column_int(4), s.column_int(5), s.column_int(6)});
  }
  return page;
}

}  // namespace phrgate::mapping
