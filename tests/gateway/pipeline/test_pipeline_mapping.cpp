// The pipeline with real parts (SQLite inbox and PHR store in a temp dir, the HL7 v2
// converter, the phr_store sink, MappingVersions over a tables dir): rows record the mapping
// version they were converted with, unmapped codes are counted once per delivered row, and
// replay re-converts with the recorded version or, with remap, the current one.
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include "adapters/hl7v2/register_hl7v2.h"
#include "adapters/phr_store/phr_store_sink.h"
#include "gateway/core/metrics.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/queue/inbox.h"
#include "gateway/store/phr_store.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

// Every part of the daemon's conversion path except the network.
struct Harness {
  explicit Harness(const char* loinc_or_null, std::vector<pipeline::Sink*> extra_sinks = {}) {
    for (const auto& [name, text] : base_tables()) {
      fs::create_directories(fs::path(tables()) / fs::path(name).parent_path());
      write_text(tables() + "/" + name, text);
    }
    fs::create_directories(tables() + "/local");
    set_local(loinc_or_null);
    versions = std::make_unique<mapping::MappingVersions>(tables(), dir.file("mapping-versions"));
    REQUIRE(versions->reload().ok);
    queue::SqliteInboxOptions io;
    io.path = dir.file("inbox.db");
    io.max_delay = std::chrono::microseconds(0);
    inbox = queue::open_sqlite_inbox(io);
    store = store::open_sqlite_store(dir.file("phr.db"));
    unmapped = std::make_unique<mapping::UnmappedCodeStore>(dir.file("unmapped.db"));
    hl7v2::register_hl7v2(registry);
    pipeline::SinkDeps deps{*store, metrics};
    config::AdapterConfig sink_cfg{"phr", "phr_store", "$.sinks[0]", nullptr};
    phr_sink = phr_store::make_phr_store_sink(sink_cfg, deps);
    std::vector<pipeline::Sink*> sinks{phr_sink.get()};
    sinks.insert(sinks.end(), extra_sinks.begin(), extra_sinks.end());
    pipeline::PipelineOptions po;
    po.retry_delay = std::chrono::milliseconds(1);
    po.unmapped_codes = unmapped.get();
    pipe = std::make_unique<pipeline::Pipeline>(*inbox, registry, sinks,
                                                std::map<std::string, pipeline::ConvertSettings>{{"emr", {}}},
                                                versions->current(), metrics, po);
    versions->subscribe([p = pipe.get()](const std::shared_ptr<const mapping::CodeMaps>& m) { p->set_code_maps(m); });
  }

  std::string tables() const { return dir.file("tables"); }
  // Writes local/lab.csv mapping GLU-LOCAL to `loinc`, or an empty table when null.
  void set_local(const char* loinc) {
    write_text(tables() + "/local/lab.csv", loinc ? local_table(loinc) : std::string(kHeader));
  }
  std::string reload(const char* loinc) {
    set_local(loinc);
    auto r = versions->reload();
    REQUIRE(r.ok);
    return r.version;
  }
  int64_t submit(const std::string& control_id, const std::string& obx3 = kLocalObx3) {
    std::promise<std::pair<queue::SubmitResult, int64_t>> done;
    auto f = done.get_future();
    inbox->submit(hl7_row(control_id, oru(control_id, obx3)),
                  [&done](queue::SubmitResult r, int64_t id) { done.set_value({r, id}); });
    auto [result, id] = f.get();
    REQUIRE(result == queue::SubmitResult::Committed);
    return id;
  }
  // Runs the pipeline until nothing is pending (waiting out retry delays).
  void drain() {
    for (int i = 0; i < 1000 && inbox->stats().pending > 0; ++i) {
      pipe->run_until_idle();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(inbox->stats().pending == 0);
  }
  // Observation.code codings of the message with this control id, from the store.
  std::vector<std::pair<std::string, std::string>> stored_codings(const std::string& control_id) {
    auto patients = store->find_patients_by_identifier("", "MRN-" + control_id, 0, 10);
    REQUIRE(patients.resources.size() == 1);
    auto obs = store->find_by_person(patients.resources[0].id, "Observation", 0, 10);
    REQUIRE(obs.resources.size() == 1);
    return code_codings(obs.resources[0].json);
  }
  pipeline::ReplayOutcome replay(int64_t id, bool remap) {
    auto row = inbox->get(id);
    REQUIRE(row);
    std::string why;
    auto maps = remap ? versions->current() : versions->get(row->mapping_version, &why);
    REQUIRE(maps);
    return pipe->replay(*row, maps);
  }

  TempDir dir;
  metrics::Registry metrics;
  pipeline::Registry registry;
  std::unique_ptr<mapping::MappingVersions> versions;
  std::unique_ptr<queue::Inbox> inbox;
  std::unique_ptr<store::PhrStore> store;
  std::unique_ptr<mapping::UnmappedCodeStore> unmapped;
  std::unique_ptr<pipeline::Sink> phr_sink;
  std::unique_ptr<pipeline::Pipeline> pipe;
};

using Coding = std::pair<std::string, std::string>;
const Coding kLocal{"urn:phrgate:codesystem:TEST_HOSP:99LAB", "GLU-LOCAL"};

int64_t metric_value(const std::string& text, const std::string& series) {
  auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stoll(text.substr(pos + series.size() + 2));
}

}  // namespace

TEST_CASE("pipeline: an unmapped local code passes through, is counted once, and the row records its version",
          "[pipeline][mapping]") {
  // The first delivery attempt is retried: the codes of that attempt must not count.
  int attempts = 0;
  CaptureSink flaky("flaky", [&attempts](const pipeline::Delivery&) {
    return ++attempts == 1 ? pipeline::DeliveryStatus::Retry : pipeline::DeliveryStatus::Delivered;
  });
  Harness h(nullptr, {&flaky});
  const int64_t id = h.submit("C1");
  h.drain();
  CHECK(attempts == 2);

  auto row = h.inbox->get(id);
  REQUIRE(row);
  CHECK(row->status == queue::InboxStatus::Done);
  CHECK(row->mapping_version == h.versions->current()->version());
  CHECK(h.stored_codings("C1") == std::vector<Coding>{kLocal});

  auto page = h.unmapped->list("emr", 0, 10);
  REQUIRE(page.total == 2);  // the local code and the PID-3 assigning authority
  bool found = false;
  for (const auto& c : page.codes) {
    CHECK(c.count == 1);
    if (c.system == "99LAB" && c.code == "GLU-LOCAL") {
      found = true;
      CHECK(c.display == "Glucose local");
      CHECK(c.first_seen_ms > 0);
    }
  }
  CHECK(found);
  CHECK(metric_value(h.metrics.render(), "phrgate_unmapped_codes_total{source=\"emr\"}") == 2);
}

TEST_CASE("pipeline: replay uses the recorded mapping version, or the current one with remap",
          "[pipeline][mapping]") {
  Harness h(kLoincA);
  const std::string version_a = h.versions->current()->version();
  const int64_t id = h.submit("R1");
  h.drain();
  CHECK(h.inbox->get(id)->mapping_version == version_a);
  CHECK(h.stored_codings("R1") == std::vector<Coding>{{"http://loinc.org", kLoincA}, kLocal});

  const std::string version_b = h.reload(kLoincB);
  REQUIRE(version_b != version_a);

  auto same = h.replay(id, false);
  CHECK(same.result == pipeline::ReplayOutcome::Result::Done);
  CHECK(same.mapping_version == version_a);
  CHECK(h.inbox->get(id)->mapping_version == version_a);
  CHECK(h.stored_codings("R1") == std::vector<Coding>{{"http://loinc.org", kLoincA}, kLocal});

  auto remapped = h.replay(id, true);
  CHECK(remapped.result == pipeline::ReplayOutcome::Result::Done);
  CHECK(remapped.mapping_version == version_b);
  auto row = h.inbox->get(id);
  CHECK(row->mapping_version == version_b);
  CHECK(row->status == queue::InboxStatus::Done);
  CHECK(row->attempts == 3);
  CHECK(h.stored_codings("R1") == std::vector<Coding>{{"http://loinc.org", kLoincB}, kLocal});

  // And back: replaying now (recorded version B) keeps B; the counts per status are unchanged.
  CHECK(h.replay(id, false).mapping_version == version_b);
  CHECK(h.inbox->stats().done == 1);
  CHECK(h.inbox->stats().failed == 0);
}

TEST_CASE("pipeline: a row that failed for want of a mapping is fixed by adding the row and replaying",
          "[pipeline][mapping]") {
  // A destination that takes only LOINC-coded results (an external PHR might).
  CaptureSink loinc_only("loinc_only", [](const pipeline::Delivery& d) {
    for (const auto& r : *d.resources)
      if (r.type == "Observation" && r.json.find("http://loinc.org") == std::string::npos)
        return pipeline::DeliveryStatus::Reject;
    return pipeline::DeliveryStatus::Delivered;
  });
  Harness h(nullptr, {&loinc_only});
  const int64_t id = h.submit("F1");
  h.drain();
  auto row = h.inbox->get(id);
  REQUIRE(row->status == queue::InboxStatus::Failed);
  CHECK(row->error.find("loinc_only") != std::string::npos);
  CHECK(h.inbox->stats().failed == 1);

  SECTION("replayed with the same tables it fails again") {
    auto again = h.replay(id, false);
    CHECK(again.result == pipeline::ReplayOutcome::Result::Failed);
    CHECK(h.inbox->get(id)->status == queue::InboxStatus::Failed);
    CHECK(h.inbox->stats().failed == 1);
  }
  SECTION("with the new row and remap it is delivered") {
    const std::string version_b = h.reload(kLoincB);
    auto fixed = h.replay(id, true);
    CHECK(fixed.result == pipeline::ReplayOutcome::Result::Done);
    row = h.inbox->get(id);
    CHECK(row->status == queue::InboxStatus::Done);
    CHECK(row->error.empty());
    CHECK(row->mapping_version == version_b);
    CHECK(h.inbox->stats().failed == 0);
    CHECK(h.inbox->stats().done == 1);
    CHECK(code_codings(loinc_only.observations().at(id)).front() == Coding{"http://loinc.org", kLoincB});
  }
}

TEST_CASE("pipeline: replay refuses rows that are not finished, and leaves a retried row as it was",
          "[pipeline][mapping]") {
  bool retry = false;
  CaptureSink gate("gate", [&retry](const pipeline::Delivery&) {
    return retry ? pipeline::DeliveryStatus::Retry : pipeline::DeliveryStatus::Delivered;
  });
  Harness h(kLoincA, {&gate});
  const int64_t pending = h.submit("P1");
  auto pending_row = h.inbox->get(pending);
  REQUIRE(pending_row);
  auto refused = h.pipe->replay(*pending_row, h.versions->current());
  CHECK(refused.result == pipeline::ReplayOutcome::Result::NotReplayable);
  CHECK(gate.calls() == 0);  // nothing was delivered

  h.drain();
  const std::string version_a = h.versions->current()->version();
  h.reload(kLoincB);
  retry = true;
  auto later = h.replay(pending, true);
  CHECK(later.result == pipeline::ReplayOutcome::Result::Retry);
  auto row = h.inbox->get(pending);
  CHECK(row->status == queue::InboxStatus::Done);
  CHECK(row->mapping_version == version_a);  // not recorded: the sink did not take it
}
