// The rules a mapping table set must pass, written once: CodeMaps::load_dir/load_texts apply
// them to every row (so the daemon's start-up and reload refuse a bad set) and
// `phrgate mappings check` reports them, through check_mapping_dir(), which is that same load.
// Pure functions over strings; they never read files and never log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/mapping/code_map.h"

namespace phrgate::mapping {

// The registry of target systems, at the top of a table directory (not a mapping table).
inline constexpr std::string_view kRegistryFile = "code_systems.csv";
inline constexpr std::string_view kRegistryHeader[] = {"system", "display"};
inline constexpr std::string_view kUcumSystem = "http://unitsofmeasure.org";

// A configured source's name, the pattern scopes must match: ^[a-z0-9][a-z0-9_-]{0,62}$
bool is_source_name(std::string_view s);
// urn:oid: followed by an OID as FHIR's oid type defines it: [0-2](\.(0|[1-9][0-9]*))+
bool is_oid_uri(std::string_view s);
// scheme ":" something, scheme = letter *(letter / digit / "+" / "-" / "."), no white space or
// control characters anywhere.
bool is_absolute_uri(std::string_view s);

// The systems listed in code_systems.csv. Views point into the loader's buffer.
class SystemRegistry {
 public:
  // Checks and adds one registry row (line `line`); false with `problem` set when refused
  // (not an absolute URI, bad OID, white space, listed twice).
  bool add(std::string_view system, std::size_t line, std::string& problem);
  bool contains(std::string_view system) const { return lines_.count(system) != 0; }
  std::size_t size() const { return lines_.size(); }

 private:
  std::unordered_map<std::string_view, std::size_t> lines_;  // system -> line in the file
};

// One data row of a mapping table.
struct RowCells {
  std::string_view source_system;
  std::string_view source_code;
  std::string_view target_system;
  std::string_view target_code;
  std::string_view target_display;
  std::string_view scope;
};

// Checks rows one by one: required cells, white space around codes, the scope pattern, the
// target system (registry, urn:oid:, urn:phrgate:) and UCUM syntax for unit codes.
// Duplicate keys are the loader's job (it sees all rows). Allocates only to report a problem.
class RowChecker {
 public:
  // `registry` null: the set has no code_systems.csv and target systems are not looked up
  // (urn:oid: and urn:phrgate: are still checked).
  explicit RowChecker(const SystemRegistry* registry) : registry_(registry) {}
  // True when the row is acceptable; otherwise appends one message per problem to `problems`.
  bool check(const RowCells& row, std::vector<std::string>& problems);

 private:
  const SystemRegistry* registry_;
  // Rows of one table usually repeat a system and often a unit: skip re-checking the last.
  std::string_view last_good_system_;
  std::string_view last_good_ucum_;
};

// Empty when `system` may be a target system; else the message.
std::string target_system_problem(std::string_view system, const SystemRegistry* registry);

// Runs the loader over `dir` without keeping the tables: every error the daemon would refuse
// the set for, with file names starting with `name_prefix` ("" = relative to dir).
// max_errors = 0 keeps every error.
LoadReport check_mapping_dir(const std::string& dir, const std::string& name_prefix,
                             std::size_t max_errors = 0);

}  // namespace phrgate::mapping
