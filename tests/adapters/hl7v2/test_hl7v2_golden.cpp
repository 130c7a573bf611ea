// Golden tests for the HL7 v2 converter: each tests/adapters/hl7v2/golden/<name>.hl7 (a
// hand-written message, segments one per line) is converted with the shipped mapping tables
// and wrapped in a collection Bundle, which must equal <name>.json after normalising key
// order. PHRGATE_UPDATE_GOLDEN=1 rewrites the .json files (review the diff before checking in).
#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "tests/adapters/hl7v2/fhir_checks.h"
#include "tests/adapters/hl7v2/hl7v2_test_messages.h"

using namespace phrgate;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A copy of `v` with every object's members sorted by name.
void sorted_copy(const rapidjson::Value& v, rapidjson::Value& out, rapidjson::Document::AllocatorType& a) {
  if (v.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) members.push_back(&*it);
    std::sort(members.begin(), members.end(), [](auto* x, auto* y) {
      return std::string_view(x->name.GetString()) < std::string_view(y->name.GetString());
    });
    out.SetObject();
    for (auto* m : members) {
      rapidjson::Value child;
      sorted_copy(m->value, child, a);
      out.AddMember(rapidjson::Value(m->name, a), child, a);
    }
  } else if (v.IsArray()) {
    out.SetArray();
    for (const auto& e : v.GetArray()) {
      rapidjson::Value child;
      sorted_copy(e, child, a);
      out.PushBack(child, a);
    }
  } else {
    out.CopyFrom(v, a);
  }
}

std::string canonical(const rapidjson::Value& v) {
  rapidjson::Document sorted;
  sorted_copy(v, sorted, sorted.GetAllocator());
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  sorted.Accept(w);
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string bundle_of(const hl7v2::ConvertResult& r) {
  std::string b = R"({"resourceType":"Bundle","type":"collection","entry":[)";
  for (std::size_t i = 0; i < r.resources.size(); ++i) {
    if (i) b += ',';
    b += R"({"fullUrl":")" + r.resources[i].type + "/" + r.resources[i].id + R"(","resource":)";
    b += r.resources[i].json + "}";
  }
  return b + "]}";
}

}  // namespace

TEST_CASE("Golden files: each message converts to exactly its checked-in Bundle", "[files]") {
  const fs::path dir = PHRGATE_HL7V2_GOLDEN_DIR;
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".hl7") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  REQUIRE(inputs.size() >= 3);
  const bool update = std::getenv("PHRGATE_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& input : inputs) {
    INFO(input.filename().string());
    std::string raw = read_file(input);
    std::replace(raw.begin(), raw.end(), '\n', '\r');  // one segment per line in the file
    hl7v2::ParseError perr;
    auto msg = hl7v2::Message::parse(raw, &perr);
    REQUIRE(msg);
    hl7v2::ConvertOptions opt;
    opt.source_name = "golden";
    opt.code_maps = &testing::code_maps();
    const hl7v2::ConvertResult r = hl7v2::convert_to_fhir(*msg, opt);
    REQUIRE(r.ok);
    CHECK(test::check_result(r).empty());
    rapidjson::Document actual;
    actual.Parse(bundle_of(r).c_str());
    REQUIRE_FALSE(actual.HasParseError());
    fs::path expected_path = input;
    expected_path.replace_extension(".json");
    if (update) {
      std::ofstream(expected_path, std::ios::binary) << canonical(actual);
      continue;
    }
    REQUIRE(fs::exists(expected_path));
    rapidjson::Document expected;
    expected.Parse(read_file(expected_path).c_str());
    REQUIRE_FALSE(expected.HasParseError());
    CHECK(canonical(actual) == canonical(expected));
  }
}
