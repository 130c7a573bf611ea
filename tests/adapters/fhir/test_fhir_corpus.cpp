// The FHIR converter over every JSON file of the public corpus (<corpus>/fhir: Synthea
// patient Bundles, the FHIR test cases' and US Core's examples). Synthea patient Bundles must
// convert completely (one message, every entry kept, references resolved); every other file
// must convert or fail with an error text, never crash. Skipped (with a warning) when the
// corpus is absent. Prints name=value figures (files, resources, resources/s).
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "adapters/fhir/fhir_to_phr.h"
#include "adapters/fhir/fhir_validate.h"
#include "gateway/core/resource_id.h"

using namespace phrgate;
namespace fs = std::filesystem;

namespace {

std::string corpus_dir() {
  const char* env = std::getenv("PHRGATE_CORPUS");
  return env && *env ? env : PHRGATE_CORPUS_DIR;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every reference in a converted resource is well-formed, and points at a resource of the
// same message when it names one by urn:uuid.
void check_references(const rapidjson::Value& v, const std::map<std::string, int>& ids) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString()) == "reference" && it->value.IsString()) {
        const std::string ref = it->value.GetString();
        CHECK(fhir::is_valid_reference(ref));
        if (ref.rfind("urn:uuid:", 0) == 0) CHECK(ids.count(ref.substr(9)) == 1);
      } else {
        check_references(it->value, ids);
      }
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) check_references(e, ids);
  }
}

}  // namespace

TEST_CASE("FHIR corpus: every file converts or fails cleanly - Synthea Bundles convert completely", "[fhir][corpus]") {
  const fs::path root = fs::path(corpus_dir()) / "fhir";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    WARN("corpus not found at " << root.string() << ": skipped");
    return;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());

  std::size_t ok_files = 0, failed_files = 0, synthea_patients = 0, messages = 0, resources = 0;
  std::map<std::string, std::size_t> failures;  // error text without the entry number -> count
  fhir::FhirConvertStats stats;
  std::chrono::steady_clock::duration spent{};
  for (const auto& path : files) {
    const std::string text = slurp(path);
    if (!fhir::sniff_fhir_json(text.substr(0, 512))) continue;
    INFO(path.string());
    pipeline::ConvertInput in;
    in.payload = text;
    in.source = "corpus";
    in.uuid_references = true;
    const auto t0 = std::chrono::steady_clock::now();
    auto out = fhir::convert_fhir(in, &stats);
    spent += std::chrono::steady_clock::now() - t0;
    REQUIRE(!out.empty());
    const bool synthea_patient = path.string().find("SYNTHEA") != std::string::npos &&
                                 path.filename().string().find("Information") == std::string::npos;
    if (!out[0].ok) {
      ++failed_files;
      CHECK(!out[0].error.empty());
      CHECK_FALSE(synthea_patient);
      std::string key = out[0].error;
      if (auto b = key.find("entry["); b != std::string::npos) key.erase(b + 6, key.find(']', b) - b - 6);
      ++failures[key];
      continue;
    }
    ++ok_files;
    for (const auto& m : out) {
      ++messages;
      std::map<std::string, int> ids;
      for (const auto& r : m.resources) ids[r.id] = 1;
      for (const auto& r : m.resources) {
        ++resources;
        CHECK(is_fhir_id(r.id));
        CHECK(r.person_id == m.person_id);
        rapidjson::Document d;
        d.Parse(r.json.c_str());
        REQUIRE(!d.HasParseError());
        CHECK(std::string(d["id"].GetString()) == r.id);
        CHECK(!d.HasMember("meta"));
        check_references(d, ids);
      }
    }
    if (synthea_patient) {
      ++synthea_patients;
      rapidjson::Document d;
      d.Parse(text.c_str());
      REQUIRE(out.size() == 1);
      CHECK(out[0].resources.size() == d["entry"].Size() + 1);  // every entry, plus the Provenance
    }
  }
  CHECK(synthea_patients >= 1);
  const double secs = std::chrono::duration<double>(spent).count();
  std::printf("fhir_corpus_files_ok=%zu\nfhir_corpus_files_failed=%zu\nfhir_corpus_messages=%zu\n"
              "fhir_corpus_resources=%zu\nfhir_corpus_dropped=%zu\nfhir_convert_resources_per_s=%.0f\n",
              ok_files, failed_files, messages, resources, stats.resources_dropped,
              secs > 0 ? static_cast<double>(stats.resources_kept) / secs : 0.0);
  for (const auto& [why, n] : failures) std::printf("fhir_corpus_failure count=%zu error=\"%s\"\n", n, why.c_str());
}
