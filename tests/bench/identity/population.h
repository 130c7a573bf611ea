// A deterministic synthetic patient population for the person index: persons with
// frequency-weighted names, birth dates, households (spouses, twins, Jr/Sr pairs), addresses,
// phones, emails and SSN last-4, registered at 1–4 of several hospitals (one MRN system
// each), every record with realistic noise (typos, nicknames, swapped dates, moves, married
// names, missing fields). Ground truth is kept per record. Used by phrgate-identity-bench and
// the population correctness test. All data is invented; nothing here is real PHI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/identity/demographics.h"
#include "gateway/identity/nickname_table.h"

namespace phrgate::identity::bench {

struct PopulationOptions {
  uint64_t seed = 20261125;
  int persons = 10000;
  int hospitals = 4;  // 3–5 recommended
  // Household structure (fractions of persons).
  double twin_rate = 0.01;    // persons born as one of a pair of twins
  double junior_rate = 0.01;  // persons who are a father with a same-named son
  double spouse_rate = 0.25;  // persons sharing address and phone with a partner
  // Per-record noise.
  double typo_family = 0.03, typo_given = 0.03, nickname = 0.08;
  double date_swap = 0.015, date_typo = 0.015, moved = 0.10, missing_phone = 0.2, missing_email = 0.4;
  double missing_address = 0.05, missing_sex = 0.02, missing_birth_date = 0.005;
  double married_name = 0.05;  // of women: records under a maiden name at some hospitals
  double ssn_collected = 0.35;  // records carrying SSN last-4
};

struct GeneratedRecord {
  SourceIdentifier id;
  Demographics demographics;
  int true_person = 0;  // ground truth
  int hospital = 0;
};

struct Population {
  int persons = 0;
  std::vector<GeneratedRecord> records;  // arrival order (shuffled across hospitals)
  int twin_pairs = 0, junior_pairs = 0;
};

Population generate_population(const PopulationOptions& options, const NicknameTable& nicknames);

// Pairwise quality of a clustering: `assigned[i]` is the cluster of records[i] (-1: none).
struct PairwiseQuality {
  uint64_t true_pairs = 0, predicted_pairs = 0, correct_pairs = 0;
  double precision() const { return predicted_pairs ? double(correct_pairs) / double(predicted_pairs) : 1.0; }
  double recall() const { return true_pairs ? double(correct_pairs) / double(true_pairs) : 1.0; }
};
PairwiseQuality pairwise_quality(const std::vector<GeneratedRecord>& records, const std::vector<int64_t>& assigned);

}  // namespace phrgate::identity::bench
