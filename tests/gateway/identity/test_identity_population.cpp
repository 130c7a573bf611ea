// Correctness on a generated population (tests/bench/identity/population.h): 2,000 persons
// at 4 hospitals with typos, nicknames, swapped dates, moves, married names, twins and Jr/Sr
// pairs, matched on a real SQLite file. Asserts quality, not speed.
#include <catch2/catch.hpp>

#include "gateway/identity/person_index.h"
#include "tests/bench/identity/identity_run.h"
#include "tests/gateway/identity/identity_test_data.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::identity;

TEST_CASE("a generated population of 2,000 persons: no wrong automatic link, recall >= 0.95",
          "[identity][population]") {
  const MatchSettings settings = test::default_settings();
  bench::PopulationOptions options;
  options.persons = 2000;
  options.seed = 7;
  const bench::Population pop = bench::generate_population(options, *settings.nicknames);
  REQUIRE(pop.records.size() > 3000);
  REQUIRE(pop.twin_pairs > 0);
  REQUIRE(pop.junior_pairs > 0);

  phrgate::testing::TempDir dir("phrgate-identity-pop-");
  MatchSettings fast = settings;
  fast.synchronous_full = false;
  auto index = PersonIndex::open(dir.file("identity.db"), fast);
  const bench::RunResult r = bench::run_population(*index, pop);
  INFO("linked=" << r.linked << " created=" << r.created << " review=" << r.review
                 << " precision=" << r.automatic.precision() << " recall=" << r.automatic.recall()
                 << " recall_with_review=" << r.with_review.recall());
  CHECK(r.wrong_auto_links == 0);
  CHECK(r.automatic.precision() == 1.0);
  CHECK(r.with_review.recall() >= 0.95);
  CHECK(double(r.review) / double(r.records) <= 0.03);
}
