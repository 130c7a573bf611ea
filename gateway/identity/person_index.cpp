// Matching side of the person index: resolve() (deterministic, then blocked Fellegi–Sunter
// with two thresholds) and the A08 re-evaluation (see person_index.h). Every call is one
// SQLite transaction under the index mutex. Nothing here logs demographics or identifiers.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

#include "gateway/identity/person_index_impl.h"

namespace phrgate::identity {
namespace {

constexpr const char* kMatcher = "matcher";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// {"rule": rule, "score": s, "best": {comparison}, "candidates": n}
std::string decision_json(const char* rule, const std::vector<ScoredPerson>& scored, const MatchSettings& s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.SetMaxDecimalPlaces(2);
  w.StartObject();
  w.Key("rule");
  w.String(rule);
  w.Key("upper");
  w.Double(s.upper_threshold);
  w.Key("lower");
  w.Double(s.lower_threshold);
  w.Key("candidates");
  w.Uint64(scored.size());
  if (!scored.empty()) {
    w.Key("score");
    w.Double(scored[0].comparison.score);
    const std::string best = comparison_json(scored[0].comparison);
    w.Key("best");
    w.RawValue(best.data(), best.size(), rapidjson::kObjectType);
    if (scored.size() > 1) {
      w.Key("runner_up_score");
      w.Double(scored[1].comparison.score);
    }
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

enum class Decision { Link, Review, Create };

// The threshold rule, with the guards: automatic only when the best candidate is allowed to
// auto-link and clearly ahead of the runner-up.
Decision decide(const std::vector<ScoredPerson>& scored, const MatchSettings& s, const char** rule) {
  if (scored.empty() || scored[0].comparison.score < s.lower_threshold) {
    *rule = scored.empty() ? "no-candidate" : "below-lower-threshold";
    return Decision::Create;
  }
  const Comparison& best = scored[0].comparison;
  const bool contested = scored.size() > 1 && scored[1].comparison.score >= s.lower_threshold &&
                         best.score - scored[1].comparison.score < s.ambiguity_margin;
  if (best.score >= s.upper_threshold && best.auto_link_allowed && !contested) {
    *rule = "fellegi-sunter";
    return Decision::Link;
  }
  if (best.score >= s.upper_threshold) {
    *rule = contested ? "ambiguous-candidates" : "guarded";
    return Decision::Review;
  }
  const std::string_view why = best.hold_reason;
  if (!s.weak_variants_to_review &&
      (why == "uncorroborated_variant" || why == "middle_name_differs" || why == "sex_differs")) {
    *rule = "weak-variant";
    return Decision::Create;
  }
  if (!s.weak_candidates_to_review && why == "name_or_birth_date_differs") {
    *rule = "weak-candidate";
    return Decision::Create;
  }
  *rule = "between-thresholds";
  return Decision::Review;
}

// The history row of an automatic decision: rule and score only (the full explanation is
// the identifier's link reason, or the review item's candidates).
std::string history_detail(const char* rule, double score) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.SetMaxDecimalPlaces(2);
  w.StartObject();
  w.Key("rule");
  w.String(rule);
  w.Key("score");
  w.Double(score);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

const char* to_string(Resolution::Kind kind) {
  switch (kind) {
    case Resolution::Kind::Known: return "known";
    case Resolution::Kind::Linked: return "linked";
    case Resolution::Kind::Created: return "created";
    case Resolution::Kind::Review: return "review";
  }
  return "unknown";
}

PersonIndex::PersonIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PersonIndex::~PersonIndex() = default;

std::unique_ptr<PersonIndex> PersonIndex::open(const std::string& path, MatchSettings settings) {
  return std::unique_ptr<PersonIndex>(new PersonIndex(std::make_unique<Impl>(path, std::move(settings))));
}

const MatchSettings& PersonIndex::settings() const { return impl_->settings; }

Resolution PersonIndex::resolve(const SourceIdentifier& id, const Demographics& raw) {
  if (id.system.empty() || id.value.empty()) throw std::invalid_argument("identifier needs a system and a value");
  const Demographics d = normalize(raw);
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  Resolution r;

  if (auto known = m.ident(id)) {
    m.store_demographics(known->id, d);  // the latest seen; links untouched
    if (known->person_row) {
      r.kind = Resolution::Kind::Known;
      r.person_id = known->person_id;
      r.explanation = R"({"rule":"known-identifier"})";
    } else {
      r.kind = Resolution::Kind::Review;
      m.review_open_of_ident.bind(1, known->id);
      if (m.review_open_of_ident.step()) r.review_id = m.review_open_of_ident.column_int(0);
      m.review_open_of_ident.reset();
      r.explanation = R"({"rule":"held-for-review"})";
    }
    tx.commit();
    return r;
  }

  std::vector<ScoredPerson> scored = m.score_candidates(d, 0);
  // Names and birth date alone are not enough against a person who already has this
  // hospital's identifier: hospitals issue one per patient.
  if (!scored.empty() && scored[0].comparison.auto_link_allowed && scored[0].comparison.names_and_birth_date_only &&
      m.person_has_system(scored[0].person_row, id.system)) {
    scored[0].comparison.auto_link_allowed = false;
    scored[0].comparison.hold_reason = "same_source_already_linked";
  }
  const char* rule = "";
  const Decision decision = decide(scored, m.settings, &rule);
  r.score = scored.empty() ? 0.0 : scored[0].comparison.score;
  r.explanation = decision_json(rule, scored, m.settings);
  const int64_t ident_row = m.insert_identifier(id);
  m.store_demographics(ident_row, d);

  if (decision == Decision::Link) {
    r.kind = Resolution::Kind::Linked;
    r.person_id = scored[0].person_id;
    m.set_link(ident_row, scored[0].person_row, r.explanation, kMatcher);
    m.history(kMatcher, "link", r.person_id, {}, id, history_detail(rule, r.score));
  } else if (decision == Decision::Create) {
    r.kind = Resolution::Kind::Created;
    PersonRow p = m.create_person(&id);
    r.person_id = p.person_id;
    m.set_link(ident_row, p.row, r.explanation, kMatcher);
    m.history(kMatcher, "create", r.person_id, {}, id, history_detail(rule, r.score));
  } else {
    r.kind = Resolution::Kind::Review;
    m.set_link(ident_row, 0, r.explanation, kMatcher);
    m.review_insert.bind(1, ident_row).bind(2, now_ms()).run();
    r.review_id = m.db.last_insert_rowid();
    constexpr std::size_t kMaxListed = 5;
    for (std::size_t i = 0; i < scored.size() && i < kMaxListed; ++i) {
      if (scored[i].comparison.score < m.settings.lower_threshold) break;
      m.review_candidate_insert.bind(1, r.review_id).bind(2, static_cast<int64_t>(i)).bind(3, scored[i].person_id)
          .bind(4, scored[i].comparison.score).bind(5, comparison_json(scored[i].comparison)).run();
    }
    m.history(kMatcher, "hold", {}, scored[0].person_id, id, history_detail(rule, r.score));
  }
  tx.commit();
  return r;
}

ReevaluationResult PersonIndex::update_demographics(const SourceIdentifier& id, const Demographics& raw) {
  const Demographics d = normalize(raw);
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  ReevaluationResult out;
  auto known = m.ident(id);
  if (!known) return out;
  out.found = true;
  m.store_demographics(known->id, d);
  m.history("source", "demographics", known->person_id, {}, id, "{}");
  if (!known->person_row) {  // held: the operator decides with the fresh demographics
    tx.commit();
    return out;
  }
  out.current_person = known->person_id;

  std::vector<ScoredPerson> scored = m.score_candidates(d, known->id);
  // The person's other identifiers may lie outside the blocks of the new demographics.
  double with_current = -1e9;
  bool has_siblings = false;
  {
    sqlite::Stmt others(m.db, "SELECT id FROM identifiers WHERE person = ? AND id <> ?");
    others.bind(1, known->person_row).bind(2, known->id);
    const NameFrequencies freq = m.frequencies(d);
    std::vector<int64_t> rows;
    while (others.step()) rows.push_back(others.column_int(0));
    for (int64_t row : rows) {
      has_siblings = true;
      if (auto other = m.demographics(row)) {
        const Comparison c = m.comparator.compare(d, *other, freq);
        with_current = std::max(with_current, c.score);
      }
    }
  }
  out.score_with_current = has_siblings ? with_current : 0.0;
  const ScoredPerson* best_other = nullptr;
  for (const auto& s : scored)
    if (s.person_row != known->person_row) {
      best_other = &s;
      break;
    }
  const MatchSettings& s = m.settings;
  const bool fits_current = !has_siblings || with_current >= s.lower_threshold;
  const bool other_fits = best_other && best_other->comparison.score >= s.upper_threshold &&
                          best_other->comparison.auto_link_allowed &&
                          (!has_siblings || best_other->comparison.score >= with_current + s.ambiguity_margin);
  if (other_fits) {
    out.should_move = true;
    out.suggested_person = best_other->person_id;
    out.score_with_suggested = best_other->comparison.score;
    out.explanation = comparison_json(best_other->comparison);
  } else if (!fits_current) {
    out.should_move = true;  // to a new person
    out.explanation = R"({"rule":"no-longer-matches-its-person"})";
  } else {
    out.explanation = R"({"rule":"still-matches"})";
  }
  tx.commit();
  return out;
}

}  // namespace phrgate::identity
