// Tests for gateway/mapping CodeMaps: CSV parsing (RFC 4180 quoting, comments, CRLF, BOM),
// errors with file:line, duplicate keys, scope precedence, version changes, and loading the
// shipped tables under mappings/. Tests tagged [files] use a temporary directory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/mapping/code_map.h"

using phrgate::mapping::CodeMaps;

namespace {

constexpr const char* kHeader =
    "source_system,source_code,target_system,target_code,target_display,scope\n";

std::optional<CodeMaps> load(std::vector<std::pair<std::string, std::string>> tables,
                             std::vector<std::string>* errors = nullptr) {
  return CodeMaps::load_texts(tables, errors);
}

bool contains(const std::vector<std::string>& errors, const std::string& needle) {
  for (const auto& e : errors)
    if (e.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("CodeMaps parses plain rows and looks them up") {
  auto maps = load({{"sex.csv", std::string(kHeader) +
                                    "HL70001,F,http://hl7.org/fhir/administrative-gender,female,Female,\n"
                                    "HL70001,M,http://hl7.org/fhir/administrative-gender,male,Male,\n"}});
  REQUIRE(maps);
  CHECK(maps->size() == 2);
  const auto* f = maps->lookup("HL70001", "F", "");
  REQUIRE(f);
  CHECK(f->system == "http://hl7.org/fhir/administrative-gender");
  CHECK(f->code == "female");
  CHECK(f->display == "Female");
  CHECK(maps->lookup("HL70001", "X", "") == nullptr);
  CHECK(maps->lookup("HL70002", "F", "") == nullptr);
  CHECK(maps->lookup("HL70001", "f", "") == nullptr);  // exact, case-sensitive
}

TEST_CASE("CodeMaps handles RFC 4180 quoting, comments, CRLF and a BOM") {
  const std::string text = std::string("\xEF\xBB\xBF") + kHeader +
                           "# a comment line, with \"quotes\" and commas\r\n"
                           "\r\n"
                           "T,\"a,b\",sys,\"say \"\"hi\"\"\",\"two\nlines\",\r\n"
                           "T,\"\",sys,x,,\n";
  std::vector<std::string> errors;
  auto maps = load({{"q.csv", text}}, &errors);
  // The last row has an empty (quoted) source_code: rejected with its line number.
  REQUIRE_FALSE(maps);
  CHECK(contains(errors, "q.csv:6: source_system and source_code are required"));

  const std::string good = std::string("\xEF\xBB\xBF") + kHeader +
                           "# comment\r\n"
                           "T,\"a,b\",sys,\"say \"\"hi\"\"\",\"two\r\nlines\",\r\n"
                           "T,c,sys,x,,\r\n";
  errors.clear();
  maps = load({{"q.csv", good}}, &errors);
  REQUIRE(maps);
  CHECK(errors.empty());
  const auto* m = maps->lookup("T", "a,b", "");
  REQUIRE(m);
  CHECK(m->code == "say \"hi\"");
  CHECK(m->display == "two\r\nlines");
  REQUIRE(maps->lookup("T", "c", ""));
  CHECK(maps->lookup("T", "c", "")->display.empty());
}

TEST_CASE("CodeMaps reports errors with file and line") {
  std::vector<std::string> errors;
  SECTION("wrong header") {
    CHECK_FALSE(load({{"h.csv", "system,code\nA,B\n"}}, &errors));
    CHECK(contains(errors, "h.csv:1: header must be exactly"));
  }
  SECTION("missing header") {
    CHECK_FALSE(load({{"e.csv", "# only a comment\n"}}, &errors));
    CHECK(contains(errors, "e.csv:1: missing header row"));
  }
  SECTION("wrong field count") {
    CHECK_FALSE(load({{"n.csv", std::string(kHeader) + "A,1,s,c,d,\nA,2,s,c\n"}}, &errors));
    CHECK(contains(errors, "n.csv:3: expected 6 fields, found 4"));
  }
  SECTION("no target") {
    CHECK_FALSE(load({{"t.csv", std::string(kHeader) + "A,1,,,d,\n"}}, &errors));
    CHECK(contains(errors, "t.csv:2: target_system or target_code is required"));
  }
  SECTION("unterminated quote") {
    CHECK_FALSE(load({{"u.csv", std::string(kHeader) + "A,\"1,s,c,d,\n"}}, &errors));
    CHECK(contains(errors, "u.csv:2: unterminated quoted field"));
  }
  SECTION("stray quote in a plain field") {
    CHECK_FALSE(load({{"s.csv", std::string(kHeader) + "A,1\"2,s,c,d,\n"}}, &errors));
    CHECK(contains(errors, "s.csv:2: quote inside an unquoted field"));
  }
  SECTION("line numbers count lines inside quoted fields") {
    CHECK_FALSE(load({{"l.csv", std::string(kHeader) + "A,1,s,c,\"x\ny\",\nA,2,s\n"}}, &errors));
    CHECK(contains(errors, "l.csv:4: expected 6 fields"));
  }
  SECTION("all errors are reported, across files") {
    CHECK_FALSE(load({{"a.csv", std::string(kHeader) + "A,1,s\n"}, {"b.csv", "bad\n"}}, &errors));
    CHECK(contains(errors, "a.csv:2:"));
    CHECK(contains(errors, "b.csv:1:"));
  }
}

TEST_CASE("CodeMaps rejects duplicate keys, naming both places") {
  std::vector<std::string> errors;
  CHECK_FALSE(load({{"a.csv", std::string(kHeader) + "A,1,s,c,d,\n"},
                    {"b.csv", std::string(kHeader) + "# c\nA,1,s,other,d,\n"}},
                   &errors));
  CHECK(contains(errors, "b.csv:3: duplicate row for (A, 1, scope ''), first at a.csv:2"));
  // The same code with different scopes is not a duplicate.
  errors.clear();
  CHECK(load({{"a.csv", std::string(kHeader) + "A,1,s,c,d,\nA,1,s,c2,d,east\nA,1,s,c3,d,west\n"}},
             &errors));
  CHECK(errors.empty());
}

TEST_CASE("A source-specific row wins over the all-sources row") {
  auto maps = load({{"a.csv", std::string(kHeader) +
                                  "HL70001,F,g,female,,\n"
                                  "HL70001,F,g,other,,emr_east\n"
                                  "HL70001,X,g,unknown,,emr_east\n"}});
  REQUIRE(maps);
  CHECK(maps->lookup("HL70001", "F", "")->code == "female");
  CHECK(maps->lookup("HL70001", "F", "emr_west")->code == "female");
  CHECK(maps->lookup("HL70001", "F", "emr_east")->code == "other");
  CHECK(maps->lookup("HL70001", "X", "emr_east")->code == "unknown");
  CHECK(maps->lookup("HL70001", "X", "emr_west") == nullptr);
  CHECK(maps->lookup("HL70001", "X", "") == nullptr);
}

TEST_CASE("CodeMaps version is 12 hex chars and follows the content") {
  const std::string base = std::string(kHeader) + "A,1,s,c,d,\n";
  auto v1 = load({{"a.csv", base}});
  auto v1_again = load({{"a.csv", base}});
  auto v2 = load({{"a.csv", base + "A,2,s,c,d,\n"}});
  auto v3 = load({{"a.csv", base + "# only a comment changed\n"}});
  REQUIRE((v1 && v1_again && v2 && v3));
  CHECK(v1->version().size() == 12);
  CHECK(v1->version().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(v1->version() == v1_again->version());
  CHECK(v1->version() != v2->version());
  CHECK(v1->version() != v3->version());
}

TEST_CASE("CodeMaps survives a move (views stay valid)") {
  auto maps = load({{"a.csv", std::string(kHeader) + "A,1,s,c,d,\n"}});
  REQUIRE(maps);
  CodeMaps moved = std::move(*maps);
  REQUIRE(moved.lookup("A", "1", ""));
  CHECK(moved.lookup("A", "1", "")->code == "c");
}

TEST_CASE("The shipped mapping tables load and carry the IG mappings") {
  std::vector<std::string> errors;
  auto maps = CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, &errors);
  INFO((errors.empty() ? std::string() : errors.front()));
  REQUIRE(maps);
  CHECK(maps->size() > 300);
  CHECK(maps->lookup("HL70001", "F", "")->code == "female");
  CHECK(maps->lookup("HL70002", "M", "")->system == "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus");
  CHECK(maps->lookup("HL70004", "I", "")->code == "IMP");
  CHECK(maps->lookup("HL70004", "E", "")->system == "http://terminology.hl7.org/CodeSystem/v3-ActCode");
  CHECK(maps->lookup("HL70078", "H", "")->system ==
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  CHECK(maps->lookup("HL70078", "<", "")->code == "<");  // trailing space in the IG sheet trimmed
  CHECK(maps->lookup("HL70085", "F", "")->code == "final");
  CHECK(maps->lookup("HL70085", "C", "")->code == "corrected");
  CHECK(maps->lookup("HL70123", "F", "")->system == "http://hl7.org/fhir/diagnostic-report-status");
  CHECK(maps->lookup("HL70203", "MR", "")->system == "http://terminology.hl7.org/CodeSystem/v2-0203");
  CHECK(maps->lookup("HL70396", "LN", "")->system == "http://loinc.org");
  CHECK(maps->lookup("unit", "mg/dL", "")->code == "mg/dL");
}

TEST_CASE("load_dir reads *.csv recursively, names files relative to the directory",
          "[files]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("phrgate_code_map_" + std::to_string(reinterpret_cast<std::uintptr_t>(&dir)));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  auto write = [](const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  };
  write(dir / "a.csv", std::string(kHeader) + "A,1,s,c,d,\n");
  write(dir / "sub" / "b.csv", std::string(kHeader) + "B,1,s,c,d,\n");
  write(dir / "notes.txt", "not a table");
  std::vector<std::string> errors;
  auto maps = CodeMaps::load_dir(dir.string(), &errors);
  REQUIRE(maps);
  CHECK(maps->size() == 2);
  CHECK(maps->lookup("B", "1", ""));
  const std::string version = maps->version();

  write(dir / "sub" / "b.csv", std::string(kHeader) + "B,1,s,changed,d,\n");
  maps = CodeMaps::load_dir(dir.string(), &errors);
  REQUIRE(maps);
  CHECK(maps->version() != version);

  write(dir / "sub" / "c.csv", std::string(kHeader) + "B,1,s,dup,d,\n");
  CHECK_FALSE(CodeMaps::load_dir(dir.string(), &errors));
  CHECK(contains(errors, "sub/c.csv:2: duplicate row for (B, 1, scope ''), first at sub/b.csv:2"));

  errors.clear();
  CHECK_FALSE(CodeMaps::load_dir((dir / "missing").string(), &errors));
  CHECK(contains(errors, "not a directory"));
  fs::remove_all(dir);
}
