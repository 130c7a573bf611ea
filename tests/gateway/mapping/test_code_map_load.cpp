// Tests for the CodeMaps loader and lookup: in-place CSV parsing (quotes, line ends, no final
// newline), the version over the raw bytes, which files load_dir reads, scope precedence (with
// few and with many scopes), a large generated set, and lookups making no heap allocation
// (counted by the operator new of this test binary).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "gateway/core/resource_id.h"
#include "gateway/mapping/code_map.h"
#include "tests/support/allocation_counter.h"
#include "tests/support/temp_dir.h"


using phrgate::mapping::CodeMaps;
using Texts = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr const char* kHeader =
    "source_system,source_code,target_system,target_code,target_display,scope\n";

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("Quoted fields are unescaped in place without disturbing their neighbours") {
  auto maps = CodeMaps::load_texts(
      Texts{{"q.csv", std::string(kHeader) +
                          "\"S,1\",\"a\"\"b\",sys,\"c\"\"\",\"d,\"\"e\"\"\",\n"
                          "S2,\"\",sys,x,,\n"  // empty quoted source_code: refused
                          "S3,\"q\"\n"}},      // 2 fields: refused
      nullptr);
  CHECK_FALSE(maps);

  maps = CodeMaps::load_texts(
      Texts{{"q.csv", std::string(kHeader) +
                          "\"S,1\",\"a\"\"b\",sys,\"c\"\"\",\"d,\"\"e\"\"\",\n"
                          "S,1,sys,plain,\"\",\"east\"\n"
                          "S,2,sys,last,no newline at the end,"}},
      nullptr);
  REQUIRE(maps);
  CHECK(maps->size() == 3);
  const auto* m = maps->lookup("S,1", "a\"b", "");
  REQUIRE(m);
  CHECK(m->system == "sys");
  CHECK(m->code == "c\"");
  CHECK(m->display == "d,\"e\"");
  REQUIRE(maps->lookup("S", "1", "east"));
  CHECK(maps->lookup("S", "1", "east")->code == "plain");
  CHECK(maps->lookup("S", "1", "east")->display.empty());
  CHECK(maps->lookup("S", "1", "") == nullptr);
  REQUIRE(maps->lookup("S", "2", "west"));
  CHECK(maps->lookup("S", "2", "west")->display == "no newline at the end");
}

TEST_CASE("Line ends: LF, CRLF and a lone CR all end a line") {
  std::vector<std::string> errors;
  auto maps = CodeMaps::load_texts(
      Texts{{"e.csv", std::string("source_system,source_code,target_system,target_code,target_display,scope\r") +
                          "A,1,s,c,d,\r\n"
                          "A,2,s,c,d,\r"
                          "A,3,s,c\n"}},
      &errors);
  CHECK_FALSE(maps);
  CHECK(errors == std::vector<std::string>{"e.csv:4: expected 6 fields, found 4"});
}

TEST_CASE("The version is SHA-256 over the raw bytes of every table, size-prefixed, in path order") {
  const std::string a = std::string(kHeader) + "A,\"x\"\"y\",s,c,d,\n";
  const std::string b = std::string(kHeader) + "B,1,s,c,d,\n";
  auto maps = CodeMaps::load_texts(Texts{{"a.csv", a}, {"b/b.csv", b}}, nullptr);
  REQUIRE(maps);
  const std::string expected =
      phrgate::sha256_hex(std::to_string(a.size()) + ":" + a + std::to_string(b.size()) + ":" + b)
          .substr(0, 12);
  CHECK(maps->version() == expected);

  phrgate::testing::TempDir dir("phrgate-mapload-");
  write(std::filesystem::path(dir.path()) / "b" / "b.csv", b);
  write(std::filesystem::path(dir.path()) / "a.csv", a);
  auto from_dir = CodeMaps::load_dir(dir.path(), nullptr);
  REQUIRE(from_dir);
  CHECK(from_dir->version() == expected);
}

TEST_CASE("load_dir reads *.csv recursively and skips hidden files and folders, and identity/") {
  phrgate::testing::TempDir dir("phrgate-mapload-");
  const std::filesystem::path root = dir.path();
  write(root / "a.csv", std::string(kHeader) + "A,1,s,c,d,\n");
  write(root / "sub" / "deeper" / "b.csv", std::string(kHeader) + "B,1,s,c,d,\n");
  write(root / "._a.csv", "macOS resource fork, not a table");
  write(root / ".git" / "x.csv", "not a table");
  write(root / "notes.txt", "not a table");
  write(root / "identity" / "nicknames.csv", "name,nickname\nWilliam,Bill\n");  // the matcher's, not a code map
  phrgate::mapping::LoadReport report;
  auto maps = CodeMaps::load_dir(dir.path(), report);
  INFO((report.errors.empty() ? std::string() : report.errors.front()));
  REQUIRE(maps);
  CHECK(report.tables == 2);
  CHECK(report.rows == 2);
  CHECK(maps->lookup("B", "1", ""));

  phrgate::testing::TempDir empty("phrgate-mapload-");
  auto none = CodeMaps::load_dir(empty.path(), nullptr);
  REQUIRE(none);
  CHECK(none->size() == 0);
  CHECK(none->lookup("A", "1", "x") == nullptr);
}

TEST_CASE("A scoped row wins for its source only, with few and with many scopes") {
  for (int scopes : {1, 40}) {
    INFO(scopes);
    std::string text = std::string(kHeader) + "HL70001,F,g,female,,\n";
    for (int s = 0; s < scopes; ++s)
      text += "HL70001,F,g,other-" + std::to_string(s) + ",,emr_" + std::to_string(s) + "\n";
    text += "HL70001,X,g,unknown,,emr_0\n";
    auto maps = CodeMaps::load_texts(Texts{{"a.csv", text}}, nullptr);
    REQUIRE(maps);
    CHECK(maps->lookup("HL70001", "F", "")->code == "female");
    CHECK(maps->lookup("HL70001", "F", "emr_0")->code == "other-0");
    CHECK(maps->lookup("HL70001", "F", "emr_" + std::to_string(scopes - 1))->code ==
          "other-" + std::to_string(scopes - 1));
    CHECK(maps->lookup("HL70001", "F", "emr_none")->code == "female");
    CHECK(maps->lookup("HL70001", "X", "emr_0")->code == "unknown");
    CHECK(maps->lookup("HL70001", "X", "emr_1") == nullptr);
    CHECK(maps->lookup("HL70001", "X", "") == nullptr);
  }
}

TEST_CASE("A large set: every row is found, misses are misses, lookups never allocate") {
  const int rows = 200000;
  std::string text = kHeader;
  text.reserve(static_cast<std::size_t>(rows) * 48);
  for (int i = 0; i < rows; ++i)
    text += "LAB" + std::to_string(i % 5) + ",C" + std::to_string(i) + ",http://loinc.org," +
            std::to_string(i) + "-" + std::to_string(i % 10) + ",," + (i % 4 == 0 ? "h1" : "") + "\n";
  auto maps = CodeMaps::load_texts(Texts{{"big.csv", text}}, nullptr);
  REQUIRE(maps);
  CHECK(maps->size() == static_cast<std::size_t>(rows));

  std::vector<std::string> codes, systems;
  for (int i = 0; i < rows; ++i) {
    codes.push_back("C" + std::to_string(i));
    systems.push_back("LAB" + std::to_string(i % 5));
  }
  const std::string wrong_system = "LAB9";
  const std::size_t before = phrgate::testing::allocation_count();
  std::size_t found = 0, scoped_found = 0, misses = 0;
  for (int i = 0; i < rows; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    const bool scoped = i % 4 == 0;
    const auto* all = maps->lookup(systems[idx], codes[idx], "");
    const auto* h1 = maps->lookup(systems[idx], codes[idx], "h1");
    if ((all != nullptr) != !scoped) continue;
    if (h1 && h1->code.size() > 2) (scoped ? scoped_found : found) += 1;
    if (!maps->lookup(wrong_system, codes[idx], "h1")) ++misses;
  }
  const std::size_t allocations = phrgate::testing::allocation_count() - before;
  CHECK(found == static_cast<std::size_t>(rows - rows / 4));
  CHECK(scoped_found == static_cast<std::size_t>(rows / 4));
  CHECK(misses == static_cast<std::size_t>(rows));
  CHECK(allocations == 0);
}

TEST_CASE("Moving a CodeMaps keeps its views; the moved-from one finds nothing") {
  auto maps = CodeMaps::load_texts(Texts{{"a.csv", std::string(kHeader) + "A,1,s,c,d,\n"}}, nullptr);
  REQUIRE(maps);
  const auto* before = maps->lookup("A", "1", "");
  CodeMaps moved = std::move(*maps);
  CHECK(moved.lookup("A", "1", "") == before);
  CHECK(moved.lookup("A", "1", "")->code == "c");
  CHECK(maps->lookup("A", "1", "") == nullptr);  // NOLINT(bugprone-use-after-move): defined state
}
