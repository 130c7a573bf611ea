// The person index (enterprise master patient index): which source identifiers (system,
// value) belong to which person, why (rule or field weights and score), who linked them and
// when, the latest demographics per identifier, the review queue of held records and the
// history of every link, unlink and merge. Backed by one SQLite file (e.g.
// <data_dir>/identity.db). The pipeline calls resolve() per converted Patient; operators
// use the review/link/unlink/merge calls through identity_routes.h.
// Thread-safety: every public call takes one internal mutex (one SQLite connection, one
// writer); calls from the pipeline thread and HTTP handlers may interleave safely.
// It never logs demographics or identifiers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/identity/demographics.h"
#include "gateway/identity/match_settings.h"

namespace phrgate::identity {

struct Resolution {
  enum class Kind {
    Known,    // the identifier was already linked: person_id is its person
    Linked,   // new identifier, linked automatically to an existing person (score >= upper)
    Created,  // new identifier, no candidate reached the lower threshold: a new person
    Review,   // held for review (lower <= score < upper, or guarded/ambiguous): no person yet
  };
  Kind kind = Kind::Created;
  std::string person_id;  // empty for Review
  int64_t review_id = 0;  // set for Review
  double score = 0.0;     // best candidate's score (0 when there was none)
  std::string explanation;  // JSON: rule, best candidate's field levels and weights
};
const char* to_string(Resolution::Kind kind);

struct LinkedIdentifier {
  SourceIdentifier identifier;
  std::string reason;  // JSON: {"rule": ..., ...}
  std::string actor;   // "matcher" for automatic decisions, else the operator
  int64_t linked_ms = 0;
};

struct PersonView {
  std::string person_id;
  std::string merged_into;  // set when this person was merged away
  int64_t created_ms = 0;
  std::vector<LinkedIdentifier> identifiers;
};

struct ReviewCandidate {
  std::string person_id;
  double score = 0.0;
  std::string explanation;  // JSON
};

struct ReviewItem {
  int64_t id = 0;
  SourceIdentifier identifier;
  int64_t created_ms = 0;
  std::vector<ReviewCandidate> candidates;  // best first
};

struct ReviewPage {
  std::vector<ReviewItem> items;
  int64_t total = 0;  // open items
};

struct HistoryEntry {
  int64_t at_ms = 0;
  std::string actor;
  std::string action;  // create, link, hold, manual_link, reject, unlink, merge, demographics
  std::string person_id;
  std::string other_person_id;
  SourceIdentifier identifier;
  std::string detail;  // JSON
};

enum class ActionStatus { Ok, NotFound, Conflict, UnknownPerson };

struct ActionResult {
  ActionStatus status = ActionStatus::Ok;
  std::string person_id;  // the person the identifier(s) now belong to
  std::string message;    // for errors; never contains PHI
};

// What update_demographics (ADT A08, A31) found for one identifier.
struct ReevaluationResult {
  bool found = false;        // the identifier is known
  bool should_move = false;  // its new demographics no longer fit its person (or fit another better)
  std::string current_person;    // empty when the identifier is held for review
  std::string suggested_person;  // where to move: an existing person, or "" for a new person
  double score_with_current = 0.0;    // best score against the person's other identifiers
  double score_with_suggested = 0.0;
  std::string explanation;  // JSON
};

struct IndexStats {
  int64_t persons = 0;  // not merged away
  int64_t identifiers = 0;
  int64_t open_reviews = 0;
};

class PersonIndex {
 public:
  // Opens or creates the index file; throws sqlite::SqliteError when it cannot.
  static std::unique_ptr<PersonIndex> open(const std::string& path, MatchSettings settings);
  ~PersonIndex();
  PersonIndex(const PersonIndex&) = delete;
  PersonIndex& operator=(const PersonIndex&) = delete;

  // Finds or creates the person of `id`: a known identifier returns its person (its stored
  // demographics are refreshed, links untouched); a new one is matched (blocking, then
  // Fellegi–Sunter) and linked, held for review, or given a new person. Demographics are
  // normalised here. Throws std::invalid_argument for an empty system or value.
  Resolution resolve(const SourceIdentifier& id, const Demographics& demographics);

  ReviewPage list_review(int64_t offset, int64_t count);
  // Links a held record to `person_id` (any person, not only a listed candidate).
  ActionResult link(int64_t review_id, const std::string& person_id, const std::string& actor);
  // Decides a held record is nobody known: it gets a new person.
  ActionResult reject(int64_t review_id, const std::string& actor);
  // Moves a linked identifier to `target_person`, or to a new person when empty.
  ActionResult unlink(const SourceIdentifier& id, const std::string& actor, const std::string& target_person = {});
  // Moves every identifier of `merged` to `surviving`; `merged` is kept as merged_into.
  ActionResult merge(const std::string& surviving, const std::string& merged, const std::string& actor);

  // A08: stores the new demographics of a known identifier and re-evaluates only its link.
  // Nothing moves here: the caller applies the result with unlink() when should_move.
  ReevaluationResult update_demographics(const SourceIdentifier& id, const Demographics& demographics);

  std::optional<std::string> person_of(const SourceIdentifier& id);
  // The open review item holding `id`, when it is held.
  std::optional<int64_t> open_review_of(const SourceIdentifier& id);
  std::vector<LinkedIdentifier> identifiers_of(const std::string& person_id);
  std::optional<PersonView> person(const std::string& person_id);  // follows nothing; shows merged_into
  std::vector<HistoryEntry> history_of(const std::string& person_id, int64_t limit = 100);
  std::optional<Demographics> demographics_of(const SourceIdentifier& id);
  IndexStats stats();

  const MatchSettings& settings() const;

  struct Impl;

 private:
  explicit PersonIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::identity
