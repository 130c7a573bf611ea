// Tests for the mapping table rules (gateway/mapping/code_map_check.h) as `phrgate mappings
// check` and the daemon's loader apply them: every check with its exact file:line message, the
// code system registry, duplicates (identical, other display, conflicting), the loader refusing
// exactly what the check refuses, and the shipped mappings/ passing. Real temp directories.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/mapping/code_map.h"
#include "gateway/mapping/code_map_check.h"
#include "tests/support/temp_dir.h"

namespace mapping = phrgate::mapping;
using Errors = std::vector<std::string>;

namespace {

constexpr const char* kHeader =
    "source_system,source_code,target_system,target_code,target_display,scope\n";
constexpr const char* kRegistry =
    "# known systems\n"
    "system,display\n"
    "http://loinc.org,LOINC\n"
    "http://unitsofmeasure.org,UCUM\n"
    "http://hl7.org/fhir/administrative-gender,AdministrativeGender\n";

class TableDir {
 public:
  TableDir() : dir_("phrgate-mapcheck-") {}
  const std::string& path() const { return dir_.path(); }
  TableDir& write(const std::string& rel, const std::string& text) {
    const auto full = std::filesystem::path(dir_.path()) / rel;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << text;
    return *this;
  }
  mapping::LoadReport check() const { return mapping::check_mapping_dir(dir_.path(), ""); }

 private:
  phrgate::testing::TempDir dir_;
};

}  // namespace

TEST_CASE("Each row check reports FILE:LINE and what is wrong") {
  TableDir d;
  d.write("code_systems.csv", kRegistry);
  d.write("local/lab.csv",
          std::string(kHeader) +
              "L,GLU,http://loinc.org,2345-7,Glucose,\n"                       // 2 ok
              "L,,http://loinc.org,2345-7,Glucose,\n"                          // 3
              "L,NA,,,Sodium,\n"                                               // 4
              "L,K,,2823-3,Potassium,\n"                                       // 5
              "L,CL,http://loinc.com,2075-0,Chloride,\n"                       // 6
              "L,CA,urn:oid:1.2.,17861-6,Calcium,\n"                           // 7
              "L,MG,urn:phrgate:,19123-9,Magnesium,\n"                         // 8
              "L,PHOS,urn:oid:2.16.840.1.113883.6.1,2777-1,Phosphate,\n"       // 9 ok
              "L,ALB,urn:phrgate:codesystem:lab:L,ALB,Albumin,\n"              // 10 ok
              "L,CRP,http://loinc.org,1988-5,CRP,East Wing\n"                  // 11
              "L,ESR ,http://loinc.org,4537-7,ESR,\n"                          // 12
              "unit,mmHg,http://unitsofmeasure.org,mmHg,,\n"                   // 13
              "unit,mg/dl,http://unitsofmeasure.org,mg/dL,,\n"                 // 14 ok
              "# a comment line\n"                                             // 15
              "L,HB,http://loinc.org,718-7,\"Hemoglobin, blood\"\n"            // 16
              "L,PLT,http://loinc.org,777-3,Platelets,-east\n");               // 17
  const auto report = d.check();
  const Errors expected = {
      "local/lab.csv:3: source_system and source_code are required",
      "local/lab.csv:4: target_system or target_code is required",
      "local/lab.csv:5: target_system is required when target_code is given (a code means nothing "
      "without its system)",
      "local/lab.csv:6: unknown target system 'http://loinc.com' (add it to code_systems.csv if it "
      "is right)",
      "local/lab.csv:7: target_system 'urn:oid:1.2.' is not a valid OID URI (urn:oid: then numbers "
      "separated by dots, e.g. urn:oid:2.16.840.1.113883.19.5)",
      "local/lab.csv:8: target_system 'urn:phrgate:' is not a valid urn:phrgate: name (a name must "
      "follow, without spaces)",
      "local/lab.csv:11: scope 'East Wing' is not a source name (lower-case letters, digits, '_' and "
      "'-', starting with a letter or digit, at most 63 characters)",
      "local/lab.csv:12: source_code 'ESR ' has leading or trailing white space; remove it (values "
      "are compared and written exactly as they are)",
      "local/lab.csv:13: target_code 'mmHg' is not valid UCUM: unknown unit 'mmHg' at position 1 "
      "(did you mean mm[Hg]?)",
      "local/lab.csv:16: expected 6 fields, found 5",
      "local/lab.csv:17: scope '-east' is not a source name (lower-case letters, digits, '_' and "
      "'-', starting with a letter or digit, at most 63 characters)",
  };
  CHECK(report.errors == expected);
  CHECK(report.tables == 1);
  CHECK(report.rows == 15);
  CHECK(report.code_systems == 3);
  CHECK(report.warnings.empty());
  CHECK_FALSE(report.ok());
}

TEST_CASE("CSV syntax and header errors carry their line") {
  TableDir d;
  d.write("code_systems.csv", kRegistry);
  d.write("a_header.csv", "source_system,source_code,target_system,target_code,display,scope\n");
  d.write("b_empty.csv", "# nothing but a comment\n");
  d.write("c_quote.csv", std::string(kHeader) + "L,A\"B,http://loinc.org,1-1,x,\nL,OK,http://loinc.org,1-1,x,\n");
  d.write("d_after.csv", std::string(kHeader) + "L,\"A\"B,http://loinc.org,1-1,x,\n");
  d.write("e_open.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,\"open,\n\nL,B,x,y,z,\n");
  d.write("f_lines.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,\"two\r\nlines\",\r\nL,B\r\n");
  const Errors expected = {
      "a_header.csv:1: header must be exactly "
      "source_system,source_code,target_system,target_code,target_display,scope",
      "b_empty.csv:1: missing header row",
      "c_quote.csv:2: quote inside an unquoted field (quote the whole field)",
      "d_after.csv:2: unexpected character after closing quote",
      "e_open.csv:2: unterminated quoted field",
      "f_lines.csv:4: expected 6 fields, found 2",
  };
  CHECK(d.check().errors == expected);
}

TEST_CASE("Every repeat of a key is an error naming both rows; the kind of repeat is told") {
  TableDir d;
  d.write("code_systems.csv", kRegistry);
  d.write("a.csv", std::string(kHeader) + "L,GLU,http://loinc.org,2345-7,Glucose,\n");
  d.write("b/lab.csv", std::string(kHeader) +
                           "L,GLU,http://loinc.org,2345-7,Glucose (serum),\n"  // 2 other display
                           "L,GLU,http://loinc.org,2339-0,Glucose,\n"          // 3 conflict
                           "L,GLU,http://loinc.org,2345-7,Glucose,\n"          // 4 identical
                           "L,GLU,http://loinc.org,2339-0,Glucose,\n"          // 5 identical to 3
                           "L,GLU,http://loinc.org,2339-0,Glucose,east\n"      // 6 other scope: ok
                           "L,GLU,http://loinc.org,2339-0,Glucose,east\n");    // 7 identical to 6
  const Errors expected = {
      "b/lab.csv:2: duplicate row for (L, GLU, scope ''), first at a.csv:2: same target as the row "
      "at a.csv:2 with another target_display; keep one",
      "b/lab.csv:3: duplicate row for (L, GLU, scope ''), first at a.csv:2: conflicting targets "
      "(http://loinc.org|2339-0 here, http://loinc.org|2345-7 there); keep the right one",
      "b/lab.csv:4: duplicate row for (L, GLU, scope ''), first at a.csv:2: identical to the row at "
      "a.csv:2; delete one",
      "b/lab.csv:5: duplicate row for (L, GLU, scope ''), first at a.csv:2: identical to the row at "
      "b/lab.csv:3; delete one",
      "b/lab.csv:7: duplicate row for (L, GLU, scope 'east'), first at b/lab.csv:6: identical to the "
      "row at b/lab.csv:6; delete one",
  };
  CHECK(d.check().errors == expected);
}

TEST_CASE("The code system registry: its own checks, and a set without one") {
  SECTION("registry rows are checked") {
    TableDir d;
    d.write("code_systems.csv",
            "system,display\n"
            "http://loinc.org,LOINC\n"
            "http://loinc.org,LOINC again\n"
            "loinc.org,no scheme\n"
            "urn:oid:1.02,leading zero\n"
            ",empty\n"
            "http://loinc.org/x,LOINC,extra\n");
    const Errors expected = {
        "code_systems.csv:3: system 'http://loinc.org' is listed twice (first on line 2)",
        "code_systems.csv:4: system 'loinc.org' is not an absolute URI (like http://loinc.org or "
        "urn:oid:2.16.840.1.113883.6.1)",
        "code_systems.csv:5: target_system 'urn:oid:1.02' is not a valid OID URI (urn:oid: then "
        "numbers separated by dots, e.g. urn:oid:2.16.840.1.113883.19.5)",
        "code_systems.csv:6: system is required",
        "code_systems.csv:7: expected 2 fields, found 3",
    };
    CHECK(d.check().errors == expected);
  }
  SECTION("a wrong registry header is one error, not one per row") {
    TableDir d;
    d.write("code_systems.csv", "uri,name\nhttp://loinc.org,LOINC\n");
    d.write("lab.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,x,\nL,B,http://loinc.org,1-2,x,\n");
    CHECK(d.check().errors == Errors{"code_systems.csv:1: header must be exactly system,display"});
  }
  SECTION("only the top-level code_systems.csv is the registry") {
    TableDir d;
    d.write("code_systems.csv", kRegistry);
    d.write("sub/code_systems.csv", kRegistry);
    CHECK(d.check().errors ==
          Errors{"sub/code_systems.csv:2: header must be exactly "
                 "source_system,source_code,target_system,target_code,target_display,scope"});
  }
  SECTION("without a registry, systems are not looked up (a warning says so); OIDs still are") {
    TableDir d;
    d.write("t.csv", std::string(kHeader) + "L,A,http://example.org/anything,1,x,\nL,B,urn:oid:1,2,x,\n");
    const auto report = d.check();
    CHECK(report.errors ==
          Errors{"t.csv:3: target_system 'urn:oid:1' is not a valid OID URI (urn:oid: then numbers "
                 "separated by dots, e.g. urn:oid:2.16.840.1.113883.19.5)"});
    CHECK(report.warnings ==
          Errors{"code_systems.csv: warning: not found; target systems are not checked against a "
                 "registry (copy it from the shipped mappings/)"});
    CHECK(report.code_systems == 0);
  }
}

TEST_CASE("The loader refuses exactly what the check refuses") {
  const std::vector<std::pair<std::string, std::string>> bad_tables = {
      {"lab.csv", std::string(kHeader) + "L,A,http://loinc.com,1-1,x,\n"},
      {"lab.csv", std::string(kHeader) + "unit,x,http://unitsofmeasure.org,mg//dL,,\n"},
      {"lab.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,x,Bad Scope\n"},
      {"lab.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,x,\nL,A,http://loinc.org,1-1,x,\n"},
      {"lab.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,x\n"},
      {"lab.csv", std::string(kHeader) + "L, A,http://loinc.org,1-1,x,\n"},
      {"code_systems.csv", "system,display\nnot a uri,x\n"},
  };
  for (const auto& [name, text] : bad_tables) {
    INFO(text);
    TableDir d;
    d.write("code_systems.csv", kRegistry).write(name, text);
    const auto report = d.check();
    REQUIRE_FALSE(report.ok());
    Errors load_errors;
    CHECK_FALSE(mapping::CodeMaps::load_dir(d.path(), &load_errors));
    CHECK(load_errors == report.errors);
    // The same tables from memory are refused the same way.
    Errors text_errors;
    std::vector<std::pair<std::string, std::string>> texts = {{"code_systems.csv", kRegistry}};
    if (name == "code_systems.csv") texts.clear();
    texts.emplace_back(name, text);
    CHECK_FALSE(mapping::CodeMaps::load_texts(texts, &text_errors));
    CHECK(text_errors == report.errors);
  }
  TableDir good;
  good.write("code_systems.csv", kRegistry)
      .write("lab.csv", std::string(kHeader) + "L,A,http://loinc.org,1-1,x,\n");
  CHECK(good.check().ok());
  CHECK(mapping::CodeMaps::load_dir(good.path(), nullptr));
}

TEST_CASE("The check prefixes file names and caps nothing unless asked") {
  TableDir d;
  d.write("code_systems.csv", kRegistry);
  std::string text = kHeader;
  for (int i = 0; i < 1500; ++i) text += "L,A" + std::to_string(i) + ",http://bad.example,1,x,\n";
  d.write("many.csv", text);
  const auto all = mapping::check_mapping_dir(d.path(), "DIR/");
  CHECK(all.errors.size() == 1500);
  CHECK(all.errors_not_shown == 0);
  CHECK(all.errors.front().rfind("DIR/many.csv:2: unknown target system", 0) == 0);
  // The daemon's default keeps the first 1000 and counts the rest.
  Errors load_errors;
  CHECK_FALSE(mapping::CodeMaps::load_dir(d.path(), &load_errors));
  REQUIRE(load_errors.size() == 1001);
  CHECK(load_errors.back() == "(500 more errors not shown)");
}

TEST_CASE("The shipped mapping tables pass the check") {
  const auto report = mapping::check_mapping_dir(PHRGATE_MAPPINGS_DIR, "");
  INFO((report.errors.empty() ? std::string() : report.errors.front()));
  CHECK(report.ok());
  CHECK(report.warnings.empty());  // the registry ships with them
  CHECK(report.tables >= 18);
  CHECK(report.rows > 300);
  CHECK(report.code_systems > 20);
}

TEST_CASE("Scope names, OIDs and URIs") {
  CHECK(mapping::is_source_name("emr_east"));
  CHECK(mapping::is_source_name("0lab-2"));
  CHECK(mapping::is_source_name(std::string(63, 'a')));
  CHECK_FALSE(mapping::is_source_name(std::string(64, 'a')));
  CHECK_FALSE(mapping::is_source_name("Emr"));
  CHECK_FALSE(mapping::is_source_name("_emr"));
  CHECK_FALSE(mapping::is_source_name("emr east"));
  CHECK_FALSE(mapping::is_source_name(""));
  CHECK(mapping::is_oid_uri("urn:oid:2.16.840.1.113883.6.1"));
  CHECK(mapping::is_oid_uri("urn:oid:1.0"));
  CHECK_FALSE(mapping::is_oid_uri("urn:oid:3.1"));
  CHECK_FALSE(mapping::is_oid_uri("urn:oid:1"));
  CHECK_FALSE(mapping::is_oid_uri("urn:oid:1..2"));
  CHECK_FALSE(mapping::is_oid_uri("urn:oid:1.01"));
  CHECK_FALSE(mapping::is_oid_uri("urn:oid:1.2."));
  CHECK_FALSE(mapping::is_oid_uri("urn:OID:1.2"));
  CHECK(mapping::is_absolute_uri("http://loinc.org"));
  CHECK(mapping::is_absolute_uri("urn:ietf:bcp:47"));
  CHECK_FALSE(mapping::is_absolute_uri("loinc.org"));
  CHECK_FALSE(mapping::is_absolute_uri("http://loinc .org"));
  CHECK_FALSE(mapping::is_absolute_uri("1http://x"));
  CHECK_FALSE(mapping::is_absolute_uri("http:"));
}
