// phrgate-identity-bench: generates a synthetic population (tests/bench/identity/population.h),
// feeds every record through PersonIndex::resolve on a real SQLite file in a temp dir, and
// prints name=value lines (quality against ground truth, latency, time, peak RSS).
// Usage: phrgate-identity-bench [--persons N] [--seed S] [--hospitals H] [--sync-normal] [--show-wrong] [--dir DIR]
// Never run by ctest; keep runs short on shared machines.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>

#include "gateway/identity/person_index.h"
#include "tests/bench/identity/identity_run.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::identity;

int main(int argc, char** argv) {
  bench::PopulationOptions options;
  bool sync_full = true, show_wrong = false;
  std::string parent_dir;  // where the temp dir goes; default /tmp
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--persons") options.persons = std::stoi(next("--persons"));
    else if (arg == "--seed") options.seed = std::stoull(next("--seed"));
    else if (arg == "--hospitals") options.hospitals = std::stoi(next("--hospitals"));
    else if (arg == "--sync-normal") sync_full = false;
    else if (arg == "--show-wrong") show_wrong = true;
    else if (arg == "--dir") parent_dir = next("--dir");
    else {
      std::fprintf(stderr, "usage: %s [--persons N] [--seed S] [--hospitals H] [--sync-normal] [--show-wrong] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  auto nicknames = std::make_shared<NicknameTable>(NicknameTable::load_file(PHRGATE_NICKNAMES_FILE));
  const bench::Population pop = bench::generate_population(options, *nicknames);

  phrgate::testing::TempDir dir("phrgate-identity-bench-");
  const std::string db_path = parent_dir.empty() ? dir.file("identity.db")
                                                 : parent_dir + "/phrgate-identity-bench-" + std::to_string(getpid()) + ".db";
  MatchSettings settings;
  settings.nicknames = nicknames;
  settings.synchronous_full = sync_full;
  auto index = PersonIndex::open(db_path, settings);
  const bench::RunResult r = bench::run_population(*index, pop);

  std::vector<double> us = r.resolve_us;
  std::sort(us.begin(), us.end());
  const double mean = us.empty() ? 0.0 : std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size());
  const double p99 = us.empty() ? 0.0 : us[std::min(us.size() - 1, us.size() * 99 / 100)];
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const IndexStats stats = index->stats();
  std::printf("persons=%d\n", pop.persons);
  std::printf("records=%llu\n", static_cast<unsigned long long>(r.records));
  std::printf("twin_pairs=%d\njunior_pairs=%d\n", pop.twin_pairs, pop.junior_pairs);
  std::printf("index_persons=%lld\n", static_cast<long long>(stats.persons));
  std::printf("auto_linked=%llu\ncreated=%llu\nreview=%llu\n", static_cast<unsigned long long>(r.linked),
              static_cast<unsigned long long>(r.created), static_cast<unsigned long long>(r.review));
  std::printf("precision=%.5f\n", r.automatic.precision());
  std::printf("recall=%.5f\n", r.automatic.recall());
  std::printf("recall_including_review=%.5f\n", r.with_review.recall());
  std::printf("review_share=%.5f\n", r.records ? double(r.review) / double(r.records) : 0.0);
  std::printf("wrong_auto_links=%llu\n", static_cast<unsigned long long>(r.wrong_auto_links));
  for (const auto& [reason, n] : r.review_reasons) {
    const auto listed = r.review_reasons_listed.find(reason);
    std::printf("review_reason.%s=%llu (true person listed: %llu)\n", reason.c_str(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(listed == r.review_reasons_listed.end() ? 0 : listed->second));
  }
  for (const auto& [what, n] : r.review_levels)
    std::printf("review_levels.%s=%llu\n", what.c_str(), static_cast<unsigned long long>(n));
  // What another max_expected_namesakes would release from review, and how many of those
  // releases would link the wrong person (the best candidate is not the record's true person).
  for (bool address_differs : {false, true})
    for (double limit : {2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3}) {
      uint64_t released = 0, wrong = 0;
      for (const auto& h : r.namesake_holds)
        if (h.address_differs == address_differs && h.expected_namesakes <= limit) {
          ++released;
          wrong += h.best_is_true_person ? 0 : 1;
        }
      std::printf("namesake_limit.%s.%g.released=%llu wrong=%llu\n", address_differs ? "address_differs" : "nothing_else",
                  limit, static_cast<unsigned long long>(released), static_cast<unsigned long long>(wrong));
    }
  std::printf("wrong_pairs=%llu\n",
              static_cast<unsigned long long>(r.automatic.predicted_pairs - r.automatic.correct_pairs));
  std::printf("match_us_per_record_mean=%.1f\nmatch_us_per_record_p99=%.1f\n", mean, p99);
  std::printf("synchronous=%s\n", sync_full ? "full" : "normal");
  std::printf("total_seconds=%.2f\n", r.seconds);
  std::printf("peak_rss_kb=%ld\n", ru.ru_maxrss);
  std::printf("cpu_seconds=%.2f\n", double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  std::error_code ec;
  std::printf("db_bytes=%llu\n", static_cast<unsigned long long>(std::filesystem::file_size(db_path, ec)));
  if (show_wrong) {  // synthetic records only: prints their invented demographics
    auto show = [&](const char* what, std::size_t i) {
      const auto& d = normalize(pop.records[i].demographics);
      std::string given;
      for (const auto& g : d.given) given += g + " ";
      std::printf("  %s: truth=%d %s| %s | %s %s | %s %s | %s | %s | %s | %s\n", what, pop.records[i].true_person,
                  given.c_str(), d.family.c_str(), d.suffix.c_str(), d.birth_date.c_str(), d.sex.c_str(),
                  d.address_line.c_str(), d.postal_code.c_str(), d.phone.c_str(), d.email.c_str(), d.ssn_last4.c_str());
    };
    for (const auto& w : r.wrong_links) {
      std::printf("wrong_link %s\n", w.explanation.c_str());
      show("record ", w.record);
      show("founder", w.founder_record);
    }
  }
  index.reset();
  if (!parent_dir.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix, ec);
  return 0;
}
