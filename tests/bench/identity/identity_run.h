// Feeds a synthetic population through a PersonIndex and measures what the matcher did
// against the ground truth: pairwise precision/recall of automatic links, recall when an
// operator decides each review item correctly, review share, wrong automatic links and
// per-record latency. Shared by phrgate-identity-bench and the population test.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gateway/identity/person_index.h"
#include "tests/bench/identity/population.h"

namespace phrgate::identity::bench {

struct RunResult {
  uint64_t records = 0, linked = 0, created = 0, review = 0, known = 0;
  uint64_t wrong_auto_links = 0;  // linked to a person founded by another true person
  PairwiseQuality automatic;      // review records unassigned
  PairwiseQuality with_review;    // review records assigned as a correct operator would
  std::vector<double> resolve_us;  // per record
  struct WrongLink {
    std::size_t record = 0, founder_record = 0;  // indexes into Population::records
    std::string explanation;
  };
  std::vector<WrongLink> wrong_links;  // for diagnosis (synthetic data only)
  // Why records went to review: "<rule>/<best candidate's hold reason>" -> count.
  std::map<std::string, uint64_t> review_reasons;
  // Of those, the items whose true person was among the listed candidates (worth a look).
  std::map<std::string, uint64_t> review_reasons_listed;
  // Review items by the best candidate's given-name and birth-date levels:
  // "<reason> given=<level> birth=<level>" -> count.
  std::map<std::string, uint64_t> review_levels;
  // Items held by the namesake rule only, to see what another max_expected_namesakes would do.
  struct NamesakeHold {
    double expected_namesakes = 0.0;
    bool best_is_true_person = false;
    bool address_differs = false;
  };
  std::vector<NamesakeHold> namesake_holds;
  double seconds = 0.0;
};

RunResult run_population(PersonIndex& index, const Population& population);

}  // namespace phrgate::identity::bench
