// MappingVersions on real directories: a load is snapshotted under mapping-versions/<version>/
// with the exact table files, an invalid set is refused whole (running set kept, no snapshot,
// no temp leftovers), an existing snapshot is kept as it is, and older versions are loaded
// back from their snapshots (or reported missing).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/mapping/mapping_versions.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_set(const std::string& dir, const char* loinc) {
  for (const auto& [name, text] : base_tables()) {
    fs::create_directories(fs::path(dir) / fs::path(name).parent_path());
    write_text(dir + "/" + name, text);
  }
  fs::create_directories(dir + "/local");
  write_text(dir + "/local/lab.csv", local_table(loinc));
}

std::string glucose_target(const mapping::CodeMaps& maps) {
  const auto* m = maps.lookup("99LAB", "GLU-LOCAL", "emr");
  return m ? std::string(m->code) : std::string();
}

bool has_incoming_leftovers(const std::string& snapshots) {
  for (const auto& e : fs::directory_iterator(snapshots))
    if (e.path().filename().string().rfind(".incoming", 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("mapping versions: load, snapshot, refuse, swap, replay lookups", "[mapping]") {
  TempDir dir;
  const std::string tables = dir.file("tables");
  const std::string snapshots = dir.file("data/mapping-versions");
  write_set(tables, kLoincA);
  mapping::MappingVersions versions(tables, snapshots);
  std::vector<std::string> swapped;
  versions.subscribe([&](const std::shared_ptr<const mapping::CodeMaps>& m) { swapped.push_back(m->version()); });
  CHECK(versions.current() == nullptr);

  auto a = versions.reload();
  REQUIRE(a.ok);
  CHECK(a.previous_version.empty());
  CHECK(a.rows == 5);
  REQUIRE(versions.current());
  CHECK(versions.current()->version() == a.version);
  CHECK(swapped == std::vector<std::string>{a.version});
  // The version is the one the plain loader computes for these tables.
  std::vector<std::string> errors;
  auto direct = mapping::CodeMaps::load_dir(tables, &errors);
  REQUIRE(direct);
  CHECK(direct->version() == a.version);

  // The snapshot holds the exact files, at the same relative paths.
  const fs::path snap_a = versions.snapshot_dir(a.version);
  CHECK(snap_a == fs::path(snapshots) / a.version);
  for (const auto& [name, text] : base_tables()) CHECK(read_text(snap_a / name) == text);
  CHECK(read_text(snap_a / "local/lab.csv") == local_table(kLoincA));
  CHECK_FALSE(has_incoming_leftovers(snapshots));

  SECTION("reloading the same tables keeps the set and its snapshot as they are") {
    auto before = versions.current();
    write_text((snap_a / "marker.txt").string(), "kept");
    auto again = versions.reload();
    REQUIRE(again.ok);
    CHECK(again.version == a.version);
    CHECK(again.previous_version == a.version);
    CHECK(versions.current() == before);
    CHECK(read_text(snap_a / "marker.txt") == "kept");
    CHECK(swapped.size() == 1);  // nothing changed: nobody told
  }

  SECTION("an invalid set is refused whole with file:line errors") {
    write_text(tables + "/local/lab.csv", local_table(kLoincB));  // a valid change...
    write_text(tables + "/local/broken.csv", std::string(kHeader) + "99LAB,X\n");  // ...and a bad file
    auto refused = versions.reload();
    CHECK_FALSE(refused.ok);
    CHECK_FALSE(refused.storage_failed);
    REQUIRE_FALSE(refused.errors.empty());
    CHECK(refused.errors.front().rfind("local/broken.csv:2:", 0) == 0);
    CHECK(refused.version == a.version);  // still in force
    CHECK(refused.previous_version == a.version);
    CHECK(glucose_target(*versions.current()) == kLoincA);
    CHECK(swapped.size() == 1);
    std::size_t snapshot_count = 0;
    for (const auto& e : fs::directory_iterator(snapshots)) snapshot_count += e.is_directory() ? 1 : 0;
    CHECK(snapshot_count == 1);
    CHECK_FALSE(has_incoming_leftovers(snapshots));
  }

  SECTION("a missing tables directory is refused") {
    mapping::MappingVersions none(dir.file("nope"), snapshots);
    auto r = none.reload();
    CHECK_FALSE(r.ok);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].find("not a directory") != std::string::npos);
    CHECK(none.current() == nullptr);
  }

  SECTION("a new set swaps in; the old one comes back from its snapshot") {
    write_text(tables + "/local/lab.csv", local_table(kLoincB));
    auto b = versions.reload();
    REQUIRE(b.ok);
    CHECK(b.version != a.version);
    CHECK(b.previous_version == a.version);
    CHECK(glucose_target(*versions.current()) == kLoincB);
    CHECK(swapped == std::vector<std::string>{a.version, b.version});
    CHECK(fs::is_directory(versions.snapshot_dir(b.version)));

    std::string why;
    auto old = versions.get(a.version, &why);
    REQUIRE(old);
    CHECK(glucose_target(*old) == kLoincA);
    CHECK(versions.get(b.version, &why) == versions.current());

    // A fresh process (no cache) reads version A from disk.
    mapping::MappingVersions fresh(tables, snapshots);
    REQUIRE(fresh.reload().ok);
    auto from_disk = fresh.get(a.version, &why);
    REQUIRE(from_disk);
    CHECK(from_disk->version() == a.version);
    CHECK(glucose_target(*from_disk) == kLoincA);

    // Without its snapshot, a version cannot be had (and the reason says so).
    fs::remove_all(versions.snapshot_dir(a.version));
    mapping::MappingVersions later(tables, snapshots);
    REQUIRE(later.reload().ok);
    CHECK(later.get(a.version, &why) == nullptr);
    CHECK(why.find("no snapshot of mapping version " + a.version) != std::string::npos);
    // A snapshot whose files were edited no longer reproduces its version.
    write_text(versions.snapshot_dir(b.version) + "/local/lab.csv", local_table(kLoincA));
    mapping::MappingVersions edited(dir.file("nope"), snapshots);
    CHECK(edited.get(b.version, &why) == nullptr);
    CHECK(why.find("now loads as version") != std::string::npos);
  }

  SECTION("versions that are not hex are refused without touching the file system") {
    std::string why;
    CHECK(versions.get("../../etc", &why) == nullptr);
    CHECK(versions.get("", &why) == nullptr);
    CHECK(why.find("no valid mapping version") != std::string::npos);
  }
}
