// Storage side of the person index: schema, statements, blocking keys, name counts,
// candidate loading (see person_index_impl.h). Values are always bound, never spliced into
// SQL; nothing here logs.
#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include "gateway/core/resource_id.h"
#include "gateway/identity/person_index_impl.h"
#include "gateway/identity/string_similarity.h"

namespace phrgate::identity {
namespace {

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons(id INTEGER PRIMARY KEY, person_id TEXT UNIQUE,
  created_ms INTEGER NOT NULL, merged_into TEXT);
CREATE TABLE IF NOT EXISTS identifiers(id INTEGER PRIMARY KEY, system TEXT NOT NULL, value TEXT NOT NULL,
  person INTEGER REFERENCES persons(id), reason TEXT NOT NULL DEFAULT '{}', actor TEXT NOT NULL DEFAULT '',
  linked_ms INTEGER NOT NULL DEFAULT 0, UNIQUE(system, value));
CREATE INDEX IF NOT EXISTS identifiers_person ON identifiers(person);
CREATE TABLE IF NOT EXISTS demographics(ident INTEGER PRIMARY KEY REFERENCES identifiers(id),
  family TEXT, given TEXT, suffix TEXT, birth_date TEXT, sex TEXT, address_line TEXT, city TEXT,
  postal_code TEXT, phone TEXT, email TEXT, ssn_last4 TEXT, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocking(key TEXT NOT NULL, ident INTEGER NOT NULL, PRIMARY KEY(key, ident)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS name_counts(field TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(field, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS review(id INTEGER PRIMARY KEY, ident INTEGER NOT NULL REFERENCES identifiers(id),
  created_ms INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open', resolved_by TEXT, resolved_ms INTEGER);
CREATE INDEX IF NOT EXISTS review_state ON review(state, id);
CREATE UNIQUE INDEX IF NOT EXISTS review_one_open ON review(ident) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS review_candidates(review INTEGER NOT NULL REFERENCES review(id), rank INTEGER NOT NULL,
  person_id TEXT NOT NULL, score REAL NOT NULL, explanation TEXT NOT NULL, PRIMARY KEY(review, rank)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, person TEXT, other_person TEXT, system TEXT, value TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS history_person ON history(person);
CREATE INDEX IF NOT EXISTS history_other_person ON history(other_person);
)SQL";

std::string text(const sqlite::Stmt& s, int col) { return std::string(s.column_text(col)); }

std::string first_letter(std::string_view s) { return s.empty() ? std::string() : std::string(1, s[0]); }

std::string compact(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out.push_back(c);
  return out;
}

std::vector<std::string> split_given(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const std::size_t sp = s.find(' ');
    if (sp != 0) out.emplace_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

std::string random_salt() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 4; ++i) s += std::to_string(rd());
  return sha256_hex(s).substr(0, 32);
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void create_identity_schema(sqlite::Db& db) { db.exec(kSchema); }

std::string given_joined(const Demographics& d) {
  std::string out;
  for (const auto& g : d.given) {
    if (!out.empty()) out.push_back(' ');
    out += g;
  }
  return out;
}

std::vector<std::string> blocking_keys(const Demographics& d, bool for_query) {
  std::vector<std::string> keys;
  const std::string family_code = d.family.empty() ? std::string() : nysiis(compact(d.family));
  const std::string given0 = d.given.empty() ? std::string() : d.given[0];
  std::vector<std::string> dates;
  if (!d.birth_date.empty()) {
    dates.push_back(d.birth_date);
    if (for_query) {
      std::string sw = d.birth_date;
      std::swap(sw[5], sw[8]);
      std::swap(sw[6], sw[9]);
      if (sw != d.birth_date && is_valid_date(sw)) dates.push_back(sw);
    }
  }
  if (!family_code.empty() && !d.birth_date.empty() && !given0.empty())
    keys.push_back("F|" + family_code + "|" + d.birth_date.substr(0, 4) + "|" + first_letter(given0));
  for (const auto& date : dates) {
    if (!d.family.empty()) keys.push_back("D|" + date + "|" + first_letter(d.family));
    if (!given0.empty()) keys.push_back("G|" + date + "|" + nysiis(given0));
  }
  if (!d.postal_code.empty() && !family_code.empty()) keys.push_back("P|" + d.postal_code + "|" + family_code);
  if (!d.phone.empty()) keys.push_back("T|" + d.phone);
  if (!d.email.empty()) keys.push_back("E|" + d.email);
  return keys;
}

PersonIndex::Impl::Impl(const std::string& path, MatchSettings s)
    : settings(std::move(s)),
      db(path),
      schema_ready((create_identity_schema(db), 1)),
      find_ident(db, "SELECT i.id, COALESCE(i.person, 0), COALESCE(p.person_id, '') FROM identifiers i "
                     "LEFT JOIN persons p ON p.id = i.person WHERE i.system = ? AND i.value = ?"),
      insert_ident(db, "INSERT INTO identifiers(system, value) VALUES(?, ?)"),
      set_ident_person(db, "UPDATE identifiers SET person = ?, reason = ?, actor = ?, linked_ms = ? WHERE id = ?"),
      insert_person(db, "INSERT INTO persons(created_ms) VALUES(?)"),
      set_person_id(db, "UPDATE persons SET person_id = ? WHERE id = ?"),
      find_person(db, "SELECT id, person_id, COALESCE(merged_into, '') FROM persons WHERE person_id = ?"),
      find_person_by_row(db, "SELECT id, person_id, COALESCE(merged_into, '') FROM persons WHERE id = ?"),
      put_demo(db, "INSERT OR REPLACE INTO demographics(ident, family, given, suffix, birth_date, sex, address_line, "
                   "city, postal_code, phone, email, ssn_last4, updated_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"),
      get_demo(db, "SELECT family, given, suffix, birth_date, sex, address_line, city, postal_code, phone, email, "
                   "ssn_last4 FROM demographics WHERE ident = ?"),
      block_insert(db, "INSERT OR IGNORE INTO blocking(key, ident) VALUES(?, ?)"),
      block_delete(db, "DELETE FROM blocking WHERE key = ? AND ident = ?"),
      block_lookup(db, "SELECT ident FROM blocking WHERE key = ? LIMIT ?"),
      load_candidate(db, "SELECT i.person, p.person_id, d.family, d.given, d.suffix, d.birth_date, d.sex, "
                         "d.address_line, d.city, d.postal_code, d.phone, d.email, d.ssn_last4 FROM identifiers i "
                         "JOIN persons p ON p.id = i.person JOIN demographics d ON d.ident = i.id WHERE i.id = ?"),
      count_get(db, "SELECT n FROM name_counts WHERE field = ? AND value = ?"),
      count_add(db, "INSERT INTO name_counts(field, value, n) VALUES(?1, ?2, ?3) "
                    "ON CONFLICT(field, value) DO UPDATE SET n = n + ?3"),
      review_insert(db, "INSERT INTO review(ident, created_ms) VALUES(?, ?)"),
      review_candidate_insert(db, "INSERT INTO review_candidates(review, rank, person_id, score, explanation) "
                                  "VALUES(?, ?, ?, ?, ?)"),
      review_open_of_ident(db, "SELECT id FROM review WHERE ident = ? AND state = 'open'"),
      history_insert(db, "INSERT INTO history(at_ms, actor, action, person, other_person, system, value, detail) "
                         "VALUES(?, ?, ?, ?, ?, ?, ?, ?)"),
      person_records(db, "SELECT id FROM identifiers WHERE person = ? AND id <> ? ORDER BY id"),
      person_system(db, "SELECT 1 FROM identifiers WHERE person = ? AND system = ? LIMIT 1"),
      idents_of_person(db, "SELECT system, value, reason, actor, linked_ms FROM identifiers WHERE person = ? ORDER BY id") {
  if (!settings.synchronous_full) db.exec("PRAGMA synchronous=NORMAL;");
  sqlite::Transaction tx(db);
  {
    sqlite::Stmt get(db, "SELECT value FROM meta WHERE key = 'person_id_salt'");
    if (get.step()) {
      salt = text(get, 0);
    } else {
      salt = random_salt();
      sqlite::Stmt put(db, "INSERT INTO meta(key, value) VALUES('person_id_salt', ?)");
      put.bind(1, salt).run();
    }
  }
  {
    sqlite::Stmt count(db, "SELECT COUNT(*) FROM demographics");
    if (count.step()) demographics_total = count.column_int(0);
    sqlite::Stmt persons(db, "SELECT COUNT(*) FROM persons WHERE merged_into IS NULL");
    if (persons.step()) persons_total = persons.column_int(0);
  }
  tx.commit();
}

std::optional<IdentRow> PersonIndex::Impl::ident(const SourceIdentifier& id) {
  find_ident.bind(1, id.system).bind(2, id.value);
  std::optional<IdentRow> out;
  if (find_ident.step()) out = IdentRow{find_ident.column_int(0), find_ident.column_int(1), text(find_ident, 2)};
  find_ident.reset();
  return out;
}

int64_t PersonIndex::Impl::insert_identifier(const SourceIdentifier& id) {
  insert_ident.bind(1, id.system).bind(2, id.value).run();
  return db.last_insert_rowid();
}

void PersonIndex::Impl::set_link(int64_t ident_row, int64_t person_row, const std::string& reason,
                                 const std::string& actor) {
  if (person_row) set_ident_person.bind(1, person_row);
  else set_ident_person.bind_null(1);
  set_ident_person.bind(2, reason).bind(3, actor).bind(4, now_ms()).bind(5, ident_row).run();
}

PersonRow PersonIndex::Impl::create_person(const SourceIdentifier* first) {
  insert_person.bind(1, now_ms()).run();
  ++persons_total;
  PersonRow p;
  p.row = db.last_insert_rowid();
  // A person first known by one identifier gets the id every converter gives that identifier's
  // Patient (resource_id.h): deterministic, so a record resolved again after a crash lands on
  // the same person, and a single-hospital PHR keeps the ids it would have without the index.
  if (first && !first->system.empty() && !person(patient_resource_id(first->system, first->value)))
    p.person_id = patient_resource_id(first->system, first->value);
  else
    p.person_id = derive_resource_id("IdentityPerson", {salt, std::to_string(p.row)});
  set_person_id.bind(1, p.person_id).bind(2, p.row).run();
  return p;
}

std::optional<PersonRow> PersonIndex::Impl::person(const std::string& person_id) {
  find_person.bind(1, person_id);
  std::optional<PersonRow> out;
  if (find_person.step()) out = PersonRow{find_person.column_int(0), text(find_person, 1), text(find_person, 2)};
  find_person.reset();
  return out;
}

std::optional<PersonRow> PersonIndex::Impl::person_by_row(int64_t row) {
  find_person_by_row.bind(1, row);
  std::optional<PersonRow> out;
  if (find_person_by_row.step())
    out = PersonRow{find_person_by_row.column_int(0), text(find_person_by_row, 1), text(find_person_by_row, 2)};
  find_person_by_row.reset();
  return out;
}

std::optional<PersonRow> PersonIndex::Impl::surviving(const std::string& person_id) {
  auto p = person(person_id);
  for (int hops = 0; p && !p->merged_into.empty() && hops < 64; ++hops) p = person(p->merged_into);
  if (p && !p->merged_into.empty()) return std::nullopt;  // a cycle cannot be created; be safe
  return p;
}

std::optional<Demographics> PersonIndex::Impl::demographics(int64_t ident_row) {
  get_demo.bind(1, ident_row);
  std::optional<Demographics> out;
  if (get_demo.step()) {
    Demographics d;
    d.family = text(get_demo, 0);
    d.given = split_given(get_demo.column_text(1));
    d.suffix = text(get_demo, 2);
    d.birth_date = text(get_demo, 3);
    d.sex = text(get_demo, 4);
    d.address_line = text(get_demo, 5);
    d.city = text(get_demo, 6);
    d.postal_code = text(get_demo, 7);
    d.phone = text(get_demo, 8);
    d.email = text(get_demo, 9);
    d.ssn_last4 = text(get_demo, 10);
    out = std::move(d);
  }
  get_demo.reset();
  return out;
}

void PersonIndex::Impl::store_demographics(int64_t ident_row, const Demographics& d) {
  const std::optional<Demographics> old = demographics(ident_row);
  if (old && *old == d) return;
  auto add_counts = [this](const Demographics& x, int64_t delta) {
    if (!x.family.empty()) count_add.bind(1, "F").bind(2, compact(x.family)).bind(3, delta).run();
    if (!x.given.empty()) count_add.bind(1, "G").bind(2, x.given[0]).bind(3, delta).run();
  };
  if (old) {
    for (const auto& k : blocking_keys(*old, false)) block_delete.bind(1, k).bind(2, ident_row).run();
    add_counts(*old, -1);
  } else {
    ++demographics_total;
  }
  for (const auto& k : blocking_keys(d, false)) block_insert.bind(1, k).bind(2, ident_row).run();
  add_counts(d, 1);
  put_demo.bind(1, ident_row).bind(2, d.family).bind(3, given_joined(d)).bind(4, d.suffix).bind(5, d.birth_date)
      .bind(6, d.sex).bind(7, d.address_line).bind(8, d.city).bind(9, d.postal_code).bind(10, d.phone)
      .bind(11, d.email).bind(12, d.ssn_last4).bind(13, now_ms()).run();
}

NameFrequencies PersonIndex::Impl::frequencies(const Demographics& d) {
  NameFrequencies f;
  f.population = static_cast<double>(demographics_total);
  f.persons = static_cast<double>(persons_total);
  if (!settings.frequency_adjusted_names) return f;
  auto u_of = [this](const char* field, const std::string& value, double u_default, double floor) {
    count_get.bind(1, field).bind(2, value);
    const double n = count_get.step() ? static_cast<double>(count_get.column_int(0)) : 0.0;
    count_get.reset();
    const double prior = settings.frequency_prior;
    const double u = (n + prior * u_default) / (static_cast<double>(demographics_total) + prior);
    return std::max(u, floor);
  };
  if (!d.family.empty()) f.family_u = u_of("F", compact(d.family), settings.family_exact.u, settings.family_u_floor);
  if (!d.given.empty()) f.given_u = u_of("G", d.given[0], settings.given_exact.u, settings.given_u_floor);
  return f;
}

// Two records of one person give the same first given name, or nickname-equivalent ones.
static bool given_names_equivalent(const Demographics& a, const Demographics& b, const NicknameTable* nicknames) {
  if (a.given.empty() || b.given.empty()) return false;
  return a.given[0] == b.given[0] || (nicknames && nicknames->equivalent(a.given[0], b.given[0]));
}

std::vector<ScoredPerson> PersonIndex::Impl::score_candidates(const Demographics& d, int64_t exclude_ident) {
  std::vector<int64_t> idents;
  for (const auto& key : blocking_keys(d, true)) {
    block_lookup.bind(1, key).bind(2, static_cast<int64_t>(settings.max_rows_per_block));
    while (block_lookup.step()) {
      const int64_t id = block_lookup.column_int(0);
      if (id != exclude_ident) idents.push_back(id);
    }
    block_lookup.reset();
  }
  std::sort(idents.begin(), idents.end());
  idents.erase(std::unique(idents.begin(), idents.end()), idents.end());
  if (idents.size() > static_cast<std::size_t>(settings.max_candidates)) idents.resize(settings.max_candidates);

  const NameFrequencies freq = frequencies(d);
  std::unordered_map<int64_t, std::size_t> by_person;
  std::vector<ScoredPerson> out;
  for (int64_t id : idents) {
    load_candidate.bind(1, id);
    if (load_candidate.step()) {
      Demographics k;
      k.family = text(load_candidate, 2);
      k.given = split_given(load_candidate.column_text(3));
      k.suffix = text(load_candidate, 4);
      k.birth_date = text(load_candidate, 5);
      k.sex = text(load_candidate, 6);
      k.address_line = text(load_candidate, 7);
      k.city = text(load_candidate, 8);
      k.postal_code = text(load_candidate, 9);
      k.phone = text(load_candidate, 10);
      k.email = text(load_candidate, 11);
      k.ssn_last4 = text(load_candidate, 12);
      Comparison c = comparator.compare(d, k, freq);
      const int64_t person_row = load_candidate.column_int(0);
      auto [it, fresh] = by_person.try_emplace(person_row, out.size());
      if (fresh) {
        out.push_back({person_row, text(load_candidate, 1), std::move(c)});
      } else if (c.score > out[it->second].comparison.score) {
        out[it->second].comparison = std::move(c);
      }
    }
    load_candidate.reset();
  }
  auto by_score = [](const ScoredPerson& a, const ScoredPerson& b) { return a.comparison.score > b.comparison.score; };
  std::sort(out.begin(), out.end(), by_score);

  // The leading candidates are judged on all of their person's records: every record is
  // compared, each with the contact values of the whole person (a phone on one record and the
  // name on another are one person's), and the person's best comparison counts.
  bool rescored = false;
  for (std::size_t i = 0; i < out.size() && i < kPersonsJudgedWhole; ++i) {
    if (out[i].comparison.score < settings.lower_threshold) break;
    std::vector<Demographics> records;
    person_records.bind(1, out[i].person_row).bind(2, exclude_ident);
    while (person_records.step() && records.size() < kRecordsPerPersonJudged)
      if (auto rec = demographics(person_records.column_int(0))) records.push_back(std::move(*rec));
    person_records.reset();
    if (records.size() < 2) continue;  // its one record was scored already
    PersonContacts contacts;
    for (const auto& rec : records) contacts.add(rec);
    Comparison best;
    best.score = -1e9;
    std::size_t best_record = 0;
    std::vector<std::size_t> sibling_records;  // records that look like the new one's twin
    for (std::size_t r = 0; r < records.size(); ++r) {
      Comparison c = comparator.compare(d, records[r], freq, &contacts);
      if (std::string_view(c.guard) == "sibling") sibling_records.push_back(r);
      if (c.score > best.score) {
        best = std::move(c);
        best_record = r;
      }
    }
    // The new given name fits one record only as a nickname (BERT ~ AL, both nicknames of
    // ALBERT) while another record, whose name is that record's own name or nickname (ALAN),
    // disagrees outright: the twin's nickname, not this person. (A misspelt name, WILLAIM
    // beside the person's WILLIAM and BILL, is a spelling variant and does not count.)
    if (best.auto_link_allowed && std::string_view(best.at(Field::Given).level) == "nickname")
      for (std::size_t r : sibling_records)
        if (given_names_equivalent(records[r], records[best_record], settings.nicknames.get())) {
          best.auto_link_allowed = false;
          best.hold_reason = "given_name_conflicts_within_person";
          break;
        }
    out[i].comparison = std::move(best);
    rescored = true;
  }
  if (rescored) std::sort(out.begin(), out.end(), by_score);
  return out;
}

bool PersonIndex::Impl::person_has_system(int64_t person_row, const std::string& system) {
  person_system.bind(1, person_row).bind(2, system);
  const bool found = person_system.step();
  person_system.reset();
  return found;
}

void PersonIndex::Impl::history(const std::string& actor, const char* action, const std::string& person,
                                const std::string& other, const SourceIdentifier& id, const std::string& detail) {
  history_insert.bind(1, now_ms()).bind(2, actor).bind(3, std::string_view(action));
  if (person.empty()) history_insert.bind_null(4);
  else history_insert.bind(4, person);
  if (other.empty()) history_insert.bind_null(5);
  else history_insert.bind(5, other);
  if (id.system.empty()) history_insert.bind_null(6).bind_null(7);
  else history_insert.bind(6, id.system).bind(7, id.value);
  history_insert.bind(8, detail.empty() ? std::string("{}") : detail);
  history_insert.run();
}

}  // namespace phrgate::identity
