// The tunable parameters of patient matching: Fellegi–Sunter m/u probabilities per field and
// comparison level, the two decision thresholds, the household/generation guards and the
// nickname table. Defaults are documented in docs/identity.md and chosen on the synthetic
// population of tests/bench/identity. Plain data; the person index copies it at open().
#pragma once

#include <cmath>
#include <memory>

#include "gateway/identity/nickname_table.h"

namespace phrgate::identity {

// P(level | same person) = m, P(level | different persons) = u; weight = log2(m / u).
struct LevelProbability {
  double m = 0.5;
  double u = 0.5;
  double weight() const { return std::log2(m / u); }
};

struct MatchSettings {
  // Decision: score >= upper (and the auto-link guards pass) -> automatic link;
  // lower <= score < upper -> review queue (record held); score < lower -> new person.
  double upper_threshold = 23.0;
  double lower_threshold = 15.0;
  // A best candidate within this many points of the runner-up (itself >= lower) goes to review.
  double ambiguity_margin = 5.0;

  // Family name. family_exact.u is the default; with frequency_adjusted_names the index's own
  // counts give a value-specific u (common surnames weigh less).
  LevelProbability family_exact{0.90, 0.003};
  LevelProbability family_similar{0.05, 0.003};  // phonetic / Jaro–Winkler / one part of a compound
  LevelProbability family_disagree{0.05, 0.994};
  // First given name.
  LevelProbability given_exact{0.88, 0.005};
  LevelProbability given_nickname{0.05, 0.004};  // per the nickname table
  LevelProbability given_similar{0.04, 0.004};   // typo, phonetic, or a middle name used as first
  LevelProbability given_initial{0.01, 0.06};    // one side is an initial that agrees
  LevelProbability given_disagree{0.02, 0.93};
  // Birth date.
  LevelProbability birth_exact{0.93, 0.00004};
  LevelProbability birth_swapped{0.02, 0.00004};  // day and month exchanged
  LevelProbability birth_typo{0.03, 0.002};       // one digit changed or two adjacent digits swapped
  LevelProbability birth_disagree{0.02, 0.998};
  LevelProbability sex_agree{0.97, 0.5};
  LevelProbability sex_disagree{0.03, 0.5};
  // Contact fields (household-correlated: see contact_cap).
  LevelProbability address_agree{0.70, 0.0005};
  LevelProbability address_similar{0.05, 0.001};
  LevelProbability address_disagree{0.25, 0.9985};
  LevelProbability postal_agree{0.85, 0.01};
  LevelProbability postal_disagree{0.15, 0.99};
  LevelProbability phone_agree{0.75, 0.0002};
  LevelProbability phone_disagree{0.25, 0.9998};
  LevelProbability email_agree{0.75, 0.0001};
  LevelProbability email_disagree{0.25, 0.9999};
  LevelProbability ssn4_agree{0.97, 0.0001};
  LevelProbability ssn4_disagree{0.03, 0.9999};

  // Address, postal code, phone and email are shared by a household, so they are not
  // independent evidence: their positive weights together count at most contact_cap, their
  // negative weights at least -contact_floor.
  double contact_cap = 14.0;
  double contact_floor = 6.0;

  // Value-specific u for exact family/given agreement: u = (count + prior * u_default) /
  // (total + prior), at least name_u_floor; counts are the index's own.
  bool frequency_adjusted_names = true;
  double frequency_prior = 2000.0;
  double family_u_floor = 0.0002;
  double given_u_floor = 0.0005;

  // Guards, added to the score (documented traps):
  double suffix_conflict_weight = -20.0;  // JR vs SR, II vs III
  double generation_gap_weight = -20.0;   // birth years this far apart (not a typo): parent/child
  int generation_gap_years = 12;
  double sibling_weight = -20.0;  // same family name and birth date, different given name (twins)

  // Same names and birth date exactly and no household field or SSN last-4 agreeing (the
  // street address differs, or nothing else can be compared): linked automatically only while
  // the index is small or the names rare enough that another person with them born that day
  // is not expected (persons x u(family) x u(given) x u(birth date) at most this); else held
  // for review. (A disagreeing phone or email with nothing agreeing is always held.)
  double max_expected_namesakes = 5e-5;
  // A street address that disagrees is itself evidence of another person (most people are
  // at their old address in both records): there the expected namesakes are multiplied by
  // this before the comparison with max_expected_namesakes. On the synthetic million, held
  // pairs with an address that disagreed were other people about 7 x expected_namesakes of
  // the time, those with nothing else comparable about 1 x (two seeds); 12 leaves a margin.
  double namesake_address_differs_factor = 12.0;
  // Both records give a middle name and it agrees: the expected namesakes are multiplied by
  // this (the same full middle name; an initial that fits its name). Conservative against
  // the frequency of middle names, as a namesake would also have to carry it.
  double middle_name_agree_factor = 0.05;
  double middle_initial_agree_factor = 0.25;
  // Between the thresholds, a best candidate that is only a variant with nothing to back it
  // (a spelling or nickname variant with no household field or SSN last-4 agreeing, or
  // middle names or sex that disagree) makes a new person instead of a review item: on the
  // synthetic million-person population four in five such items were not the same person,
  // and they crowded the review queue (docs/identity.md).
  bool weak_variants_to_review = false;
  // Likewise a best candidate between the thresholds whose given name or birth date does not
  // agree even as a variant (or is missing where a link would need it) makes a new person:
  // on the million-person population three in five such items were other people.
  bool weak_candidates_to_review = false;

  // Candidate search limits per record.
  int max_rows_per_block = 200;
  int max_candidates = 400;

  // Commit durability of identity.db: true = synchronous=FULL (each resolve survives power
  // loss), false = synchronous=NORMAL in WAL (consistent after a crash, the last commits may
  // be lost and are redone when the message is processed again).
  bool synchronous_full = true;

  std::shared_ptr<const NicknameTable> nicknames;  // null: no nickname equivalence
};

}  // namespace phrgate::identity
