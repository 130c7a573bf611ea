// Reload under load: three pipeline workers share one inbox and two more threads convert
// directly, while another thread reloads the tables over and over between set A and set B
// (the same local code mapped to different LOINC codes). Every conversion must be wholly
// one set: the LOINC coding written and the mapping version recorded must agree.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/core/metrics.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/queue/inbox.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

// The LOINC code Observation.code carries in front of the local coding ("" when none).
std::string mapped_loinc(const std::string& observation_json) {
  auto codings = code_codings(observation_json);
  return !codings.empty() && codings[0].first == "http://loinc.org" ? codings[0].second : std::string();
}

}  // namespace

TEST_CASE("reload under load: every conversion is consistent with exactly one table set", "[pipeline][mapping]") {
  TempDir dir;
  const std::string tables = dir.file("tables");
  for (const auto& [name, text] : base_tables()) {
    fs::create_directories(fs::path(tables) / fs::path(name).parent_path());
    write_text(tables + "/" + name, text);
  }
  fs::create_directories(tables + "/local");
  mapping::MappingVersions versions(tables, dir.file("mapping-versions"));
  write_text(tables + "/local/lab.csv", local_table(kLoincB));
  const std::string version_b = versions.reload().version;
  write_text(tables + "/local/lab.csv", local_table(kLoincA));
  const std::string version_a = versions.reload().version;
  REQUIRE(!version_a.empty());
  REQUIRE(!version_b.empty());
  REQUIRE(version_a != version_b);
  const std::map<std::string, std::string> loinc_of{{version_a, kLoincA}, {version_b, kLoincB}};

  queue::SqliteInboxOptions io;
  io.path = dir.file("inbox.db");
  auto inbox = queue::open_sqlite_inbox(io);
  metrics::Registry metrics;
  pipeline::Registry registry;
  hl7v2::register_hl7v2(registry);
  pipeline::PipelineOptions po;
  po.batch_size = 16;
  po.idle_poll = std::chrono::milliseconds(1);
  std::vector<std::unique_ptr<CaptureSink>> sinks;
  std::vector<std::unique_ptr<pipeline::Pipeline>> workers;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_unique<CaptureSink>("capture" + std::to_string(i)));
    workers.push_back(std::make_unique<pipeline::Pipeline>(
        *inbox, registry, std::vector<pipeline::Sink*>{sinks.back().get()},
        std::map<std::string, pipeline::ConvertSettings>{{"emr", {}}}, versions.current(), metrics, po));
    versions.subscribe([p = workers.back().get()](const std::shared_ptr<const mapping::CodeMaps>& m) {
      p->set_code_maps(m);
    });
  }
  for (auto& w : workers) w->start();

  std::atomic<bool> stop{false};
  std::atomic<int> reloads{0};
  std::thread reloader([&] {
    bool a = false;
    while (!stop) {
      write_text(tables + "/local/lab.csv", local_table(a ? kLoincA : kLoincB));
      if (versions.reload().ok) ++reloads;
      a = !a;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  // Direct conversions with whatever set is current at the time, checked on the spot.
  std::atomic<int> direct_checked{0}, direct_inconsistent{0};
  std::vector<std::thread> converters;
  for (int t = 0; t < 2; ++t)
    converters.emplace_back([&, t] {
      const std::string payload = oru("D" + std::to_string(t), kLocalObx3);
      while (!stop) {
        auto maps = versions.current();
        pipeline::ConvertInput in;
        in.payload = payload;
        in.source = "emr";
        in.code_maps = maps.get();
        auto out = hl7v2::convert_hl7v2_payload(in);
        bool ok = out.size() == 1 && out[0].ok;
        for (const auto& r : ok ? out[0].resources : std::vector<store::FhirResource>{})
          if (r.type == "Observation") ok = mapped_loinc(r.json) == loinc_of.at(maps->version());
        ++direct_checked;
        if (!ok) ++direct_inconsistent;
      }
    });

  // Submit rounds until rows of both versions exist and the tables were swapped many times
  // (bounded), while everything runs.
  int submitted = 0;
  std::set<std::string> versions_seen;
  for (int round = 0; round < 100 && (round < 5 || versions_seen.size() < 2 || reloads < 50); ++round) {
    for (int i = 0; i < 40; ++i) {
      inbox->submit(hl7_row("L" + std::to_string(submitted), oru("L" + std::to_string(submitted), kLocalObx3)),
                    {});
      ++submitted;
    }
    inbox->flush();
    for (auto& w : workers) w->notify();
    for (int wait = 0; wait < 2000 && inbox->stats().pending > 0; ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int64_t id = 1; id <= submitted; ++id)
      if (auto row = inbox->get(id)) versions_seen.insert(row->mapping_version);
  }
  stop = true;
  reloader.join();
  for (auto& t : converters) t.join();
  for (auto& w : workers) w->stop();

  CHECK(reloads > 2);
  CHECK(direct_checked > 0);
  CHECK(direct_inconsistent == 0);
  REQUIRE(inbox->stats().pending == 0);
  CHECK(inbox->stats().done == submitted);

  std::map<int64_t, std::string> observations;
  for (auto& s : sinks)
    for (auto& [id, json] : s->observations()) observations[id] = json;
  REQUIRE(observations.size() == static_cast<std::size_t>(submitted));
  int inconsistent = 0;
  std::map<std::string, int> rows_per_version;
  for (const auto& [id, json] : observations) {
    auto row = inbox->get(id);
    REQUIRE(row);
    REQUIRE(loinc_of.count(row->mapping_version) == 1);
    ++rows_per_version[row->mapping_version];
    if (mapped_loinc(json) != loinc_of.at(row->mapping_version)) ++inconsistent;
  }
  CHECK(inconsistent == 0);
  CHECK(rows_per_version.size() == 2);  // both sets were in force at some point
}
