// Unmapped codes: what the HL7 v2 converter reports through ConvertInput::unmapped (and that
// the value still passes through unchanged), the pipeline's per-batch collector, and the
// counts in unmapped.db (upsert, order, filter, paging, persistence).
#include <catch2/catch.hpp>

#include <tuple>

#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/unmapped_codes.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;

namespace {

using Report = std::tuple<std::string, std::string, std::string, std::string>;

struct RecordingSink final : mapping::UnmappedCodeSink {
  std::vector<Report> reports;
  void unmapped(std::string_view source, std::string_view system, std::string_view code,
                std::string_view display) override {
    reports.emplace_back(source, system, code, display);
  }
};

mapping::CodeMaps load(std::vector<std::pair<std::string, std::string>> tables) {
  std::vector<std::string> errors;
  auto maps = mapping::CodeMaps::load_texts(tables, &errors);
  if (!maps) FAIL("tables do not load: " << (errors.empty() ? "" : errors.front()));
  return std::move(*maps);
}

std::vector<pipeline::ConvertedMessage> convert(const std::string& payload, const mapping::CodeMaps& maps,
                                                mapping::UnmappedCodeSink* sink) {
  pipeline::ConvertInput in;
  in.payload = payload;
  in.source = "emr";
  in.code_maps = &maps;
  in.unmapped = sink;
  return hl7v2::convert_hl7v2_payload(in);
}

std::string observation_json(const std::vector<pipeline::ConvertedMessage>& out) {
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].ok);
  for (const auto& r : out[0].resources)
    if (r.type == "Observation") return r.json;
  FAIL("no Observation");
  return {};
}

bool reported(const RecordingSink& s, const std::string& system, const std::string& code) {
  for (const auto& r : s.reports)
    if (std::get<1>(r) == system && std::get<2>(r) == code) return true;
  return false;
}

}  // namespace

TEST_CASE("converter: a local code without a row is reported and passes through unchanged", "[unmapped]") {
  auto maps = load(base_tables());
  RecordingSink sink;
  auto out = convert(oru("M1", kLocalObx3), maps, &sink);
  auto codings = code_codings(observation_json(out));
  REQUIRE(codings.size() == 1);  // the sender's coding only, nothing invented
  CHECK(codings[0].first == "urn:phrgate:codesystem:TEST_HOSP:99LAB");
  CHECK(codings[0].second == "GLU-LOCAL");
  CHECK(std::count(sink.reports.begin(), sink.reports.end(),
                   Report{"emr", "99LAB", "GLU-LOCAL", "Glucose local"}) == 1);
  // The PID-3 assigning authority has no Identifier.system row either.
  CHECK(reported(sink, "assigning-authority", "TEST_HOSP"));
  // LOINC OBR-4, the UCUM unit and the mapped interpretation H are not unmapped.
  CHECK(sink.reports.size() == 2);

  SECTION("the output is the same with or without a listener") {
    auto quiet = convert(oru("M1", kLocalObx3), maps, nullptr);
    REQUIRE(quiet.size() == 1);
    REQUIRE(quiet[0].resources.size() == out[0].resources.size());
    for (std::size_t i = 0; i < quiet[0].resources.size(); ++i) {
      if (quiet[0].resources[i].type == "Provenance") continue;  // carries no mapping
      CHECK(quiet[0].resources[i].json == out[0].resources[i].json);
    }
  }
}

TEST_CASE("converter: mapped, standard and alternately coded values are not reported", "[unmapped]") {
  auto tables = base_tables();
  tables.emplace_back("local/lab.csv", local_table(kLoincA));
  tables.emplace_back("identifiers/aa.csv", std::string(kHeader) +
                                                "assigning-authority,TEST_HOSP,urn:oid:1.2.3.4,,Test MRN,\n");
  auto maps = load(tables);
  RecordingSink sink;

  SECTION("a mapped local code gets the target first and keeps the original") {
    auto codings = code_codings(observation_json(convert(oru("M1", kLocalObx3), maps, &sink)));
    REQUIRE(codings.size() == 2);
    CHECK(codings[0] == std::pair<std::string, std::string>{"http://loinc.org", kLoincA});
    CHECK(codings[1] == std::pair<std::string, std::string>{"urn:phrgate:codesystem:TEST_HOSP:99LAB", "GLU-LOCAL"});
    CHECK(sink.reports.empty());
  }
  SECTION("a local code with a LOINC alternate triplet") {
    convert(oru("M1", "K-LOC^Potassium^99LAB^2823-3^Potassium^LN"), maps, &sink);
    CHECK(sink.reports.empty());
  }
  SECTION("a LOINC code") {
    convert(oru("M1", "2345-7^Glucose^LN"), maps, &sink);
    CHECK(sink.reports.empty());
  }
  SECTION("a local code without a coding system counts under L") {
    convert(oru("M1", "NA-LOC^Sodium local"), maps, &sink);
    REQUIRE(sink.reports.size() == 1);
    CHECK(sink.reports[0] == Report{"emr", "L", "NA-LOC", "Sodium local"});
  }
  SECTION("a unit without a UCUM row, and one sent as UCUM") {
    auto obs = parse(observation_json(convert(oru("M1", "2345-7^Glucose^LN", "furlongs^Furlongs"), maps, &sink)));
    REQUIRE(sink.reports.size() == 1);
    CHECK(sink.reports[0] == Report{"emr", "unit", "furlongs", "Furlongs"});
    CHECK(std::string(obs["valueQuantity"]["unit"].GetString()) == "Furlongs");
    CHECK_FALSE(obs["valueQuantity"].HasMember("system"));
    sink.reports.clear();
    convert(oru("M2", "2345-7^Glucose^LN", "mmol/L^mmol/L^UCUM"), maps, &sink);
    CHECK(sink.reports.empty());
  }
  SECTION("an interpretation code missing from HL70078") {
    convert(oru("M1", "2345-7^Glucose^LN", "mg/dL^mg/dL^UCUM", "ZZ"), maps, &sink);
    REQUIRE(sink.reports.size() == 1);
    CHECK(std::get<1>(sink.reports[0]) == "HL70078");
    CHECK(std::get<2>(sink.reports[0]) == "ZZ");
  }
}

TEST_CASE("collector: tallies per (source, system, code), forgets a discarded message", "[unmapped]") {
  mapping::UnmappedCodeCollector c;
  CHECK(c.empty());
  c.begin_message(1);
  c.unmapped("emr", "99LAB", "A", "");
  c.unmapped("emr", "99LAB", "A", "Alpha");
  c.unmapped("emr", "unit", "A", "");
  c.begin_message(2);
  c.unmapped("emr", "99LAB", "A", "Other");
  c.unmapped("lab", "99LAB", "A", "");
  c.begin_message(3);
  c.unmapped("emr", "99LAB", "B", "Beta");
  c.discard(3);
  c.discard(42);  // unknown tag: nothing happens

  auto codes = c.take(1000);
  CHECK(c.empty());
  REQUIRE(codes.size() == 3);  // B was discarded
  CHECK(codes[0].source == "emr");
  CHECK(codes[0].system == "99LAB");
  CHECK(codes[0].code == "A");
  CHECK(codes[0].count == 3);
  CHECK(codes[0].display == "Alpha");  // the first non-empty display
  CHECK(codes[0].first_seen_ms == 1000);
  CHECK(codes[0].last_seen_ms == 1000);
  CHECK(codes[1].system == "unit");
  CHECK(codes[1].count == 1);
  CHECK(codes[2].source == "lab");
  CHECK(c.take(2000).empty());
}

TEST_CASE("store: counts add up across batches and restarts, listed by count with filter and paging",
          "[unmapped]") {
  TempDir dir;
  const std::string path = dir.file("unmapped.db");
  {
    mapping::UnmappedCodeStore store(path);
    store.record({{"emr", "99LAB", "A", "", 2, 1000, 1000}, {"emr", "unit", "u", "U", 1, 1000, 1000}});
    store.record({{"emr", "99LAB", "A", "Alpha", 3, 5000, 5000}, {"lab", "L", "X", "", 4, 3000, 3000}});
  }
  mapping::UnmappedCodeStore store(path);  // reopened: the counts persisted
  store.record({{"emr", "unit", "u", "", 1, 500, 500}});

  auto all = store.list("", 0, 100);
  CHECK(all.total == 3);
  REQUIRE(all.codes.size() == 3);
  CHECK(all.codes[0].code == "A");
  CHECK(all.codes[0].count == 5);
  CHECK(all.codes[0].display == "Alpha");
  CHECK(all.codes[0].first_seen_ms == 1000);
  CHECK(all.codes[0].last_seen_ms == 5000);
  CHECK(all.codes[1].code == "X");
  CHECK(all.codes[2].code == "u");
  CHECK(all.codes[2].count == 2);
  CHECK(all.codes[2].display == "U");  // an empty display does not erase a known one
  CHECK(all.codes[2].first_seen_ms == 500);

  auto emr = store.list("emr", 0, 100);
  CHECK(emr.total == 2);
  REQUIRE(emr.codes.size() == 2);
  CHECK(emr.codes[1].code == "u");

  auto page = store.list("", 1, 1);
  CHECK(page.total == 3);
  REQUIRE(page.codes.size() == 1);
  CHECK(page.codes[0].code == "X");
  CHECK(store.list("", 3, 10).codes.empty());
  CHECK(store.list("nobody", 0, 10).total == 0);
}
