// One HL7 v2 message converted for a converter test: the result, each resource parsed and
// grouped by type (with its id and person), after the structural checks of fhir_checks.h.
// Shared by the per-message-type converter tests. Header-only; tests only.
#pragma once

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "tests/adapters/hl7v2/fhir_checks.h"
#include "tests/adapters/hl7v2/hl7v2_test_messages.h"

namespace phrgate::test {

struct Converted {
  std::string raw;
  hl7v2::ConvertResult result;
  std::map<std::string, std::vector<rapidjson::Document>> by_type;
  std::map<std::string, std::vector<std::string>> ids;        // resource ids, per type, in order
  std::map<std::string, std::vector<std::string>> person_of;  // their person ids

  const std::vector<rapidjson::Document>& all(const std::string& type) const {
    static const std::vector<rapidjson::Document> none;
    auto it = by_type.find(type);
    return it == by_type.end() ? none : it->second;
  }
  const rapidjson::Document& one(const std::string& type) const {
    const auto& v = all(type);
    REQUIRE(v.size() == 1);
    return v.front();
  }
};

// Parses and converts `raw` with the shipped mapping tables; requires success and clean output.
inline Converted convert(std::string raw) {
  Converted c;
  c.raw = std::move(raw);
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(c.raw, &perr);
  REQUIRE(msg);
  hl7v2::ConvertOptions opt;
  opt.source_name = "test_source";
  opt.code_maps = &testing::code_maps();
  c.result = hl7v2::convert_to_fhir(*msg, opt);
  INFO(c.result.error);
  REQUIRE(c.result.ok);
  INFO(check_result(c.result));
  CHECK(check_result(c.result).empty());
  for (const auto& r : c.result.resources) {
    rapidjson::Document d;
    d.Parse(r.json.data(), r.json.size());
    REQUIRE(!d.HasParseError());
    c.by_type[r.type].push_back(std::move(d));
    c.ids[r.type].push_back(r.id);
    c.person_of[r.type].push_back(r.person_id);
  }
  return c;
}

inline std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

}  // namespace phrgate::test
