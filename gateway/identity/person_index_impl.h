// Internal to the person index (not included outside gateway/identity): the SQLite schema,
// prepared statements and storage helpers shared by person_index.cpp (matching) and
// person_index_admin.cpp (review, link, unlink, merge, queries). Callers hold Impl::mu.
// Invariants: an identifier has person NULL exactly while it has an open review item;
// blocking keys and name counts always describe the identifier's stored demographics.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/identity/person_index.h"
#include "gateway/identity/record_comparator.h"

namespace phrgate::identity {

struct IdentRow {
  int64_t id = 0;
  int64_t person_row = 0;  // 0 when held
  std::string person_id;
};

struct PersonRow {
  int64_t row = 0;
  std::string person_id;
  std::string merged_into;
};

struct ScoredPerson {
  int64_t person_row = 0;
  std::string person_id;
  Comparison comparison;
};

int64_t now_ms();
void create_identity_schema(sqlite::Db& db);

// How many leading candidates are judged on all their records, and on at most how many.
constexpr std::size_t kPersonsJudgedWhole = 3;
constexpr std::size_t kRecordsPerPersonJudged = 32;

struct PersonIndex::Impl {
  Impl(const std::string& path, MatchSettings s);

  MatchSettings settings;
  RecordComparator comparator{settings};
  std::mutex mu;
  sqlite::Db db;
  int schema_ready;  // created before the statements below are prepared
  std::string salt;
  int64_t demographics_total = 0;
  int64_t persons_total = 0;  // not merged away; for the expected number of namesakes

  sqlite::Stmt find_ident, insert_ident, set_ident_person, insert_person, set_person_id, find_person,
      find_person_by_row, put_demo, get_demo, block_insert, block_delete, block_lookup, load_candidate,
      count_get, count_add, review_insert, review_candidate_insert, review_open_of_ident, history_insert,
      person_records, person_system, idents_of_person;

  std::optional<IdentRow> ident(const SourceIdentifier& id);
  int64_t insert_identifier(const SourceIdentifier& id);
  // Links (or, with person_row 0, unlinks/holds) an identifier and records the reason.
  void set_link(int64_t ident_row, int64_t person_row, const std::string& reason, const std::string& actor);
  // `first`: the identifier the person is created for (its Patient id becomes the person id).
  PersonRow create_person(const SourceIdentifier* first = nullptr);
  std::optional<PersonRow> person(const std::string& person_id);
  std::optional<PersonRow> person_by_row(int64_t row);
  // Follows merged_into to the surviving person.
  std::optional<PersonRow> surviving(const std::string& person_id);
  std::optional<Demographics> demographics(int64_t ident_row);
  // Replaces the stored demographics of an identifier with blocking keys and name counts.
  void store_demographics(int64_t ident_row, const Demographics& d);
  NameFrequencies frequencies(const Demographics& d);
  // Candidates from the blocking keys, scored and grouped by person (best first), skipping
  // `exclude_ident`.
  std::vector<ScoredPerson> score_candidates(const Demographics& d, int64_t exclude_ident);
  // Whether the person already holds an identifier of `system` (an assigning authority issues
  // one per patient: a second one is another patient or a duplicate for an operator to see).
  bool person_has_system(int64_t person_row, const std::string& system);
  void history(const std::string& actor, const char* action, const std::string& person,
               const std::string& other, const SourceIdentifier& id, const std::string& detail);
};

std::vector<std::string> blocking_keys(const Demographics& d, bool for_query);
std::string given_joined(const Demographics& d);

}  // namespace phrgate::identity
