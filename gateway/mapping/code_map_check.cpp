// The mapping table rules (see code_map_check.h). The messages are written for the hospital
// IT staff who edit the tables: each says what is wrong and what to do. They may quote codes
// and systems (table content, never patient data).
#include "gateway/mapping/code_map_check.h"

#include "gateway/mapping/ucum_syntax.h"

namespace phrgate::mapping {
namespace {

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool has_outer_space(std::string_view s) {
  return !s.empty() && (is_space(s.front()) || is_space(s.back()));
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

constexpr std::string_view kOidPrefix = "urn:oid:";
constexpr std::string_view kPhrgatePrefix = "urn:phrgate:";

}  // namespace

bool is_source_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !is_lower_or_digit(s[0])) return false;
  for (char c : s.substr(1))
    if (!is_lower_or_digit(c) && c != '_' && c != '-') return false;
  return true;
}

bool is_oid_uri(std::string_view s) {
  if (!starts_with(s, kOidPrefix)) return false;
  s.remove_prefix(kOidPrefix.size());
  if (s.size() < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.') return false;
  std::size_t arcs = 0;
  for (std::size_t i = 1; i < s.size();) {
    if (s[i] != '.' || i + 1 >= s.size() || !is_digit(s[i + 1])) return false;
    ++i;
    if (s[i] == '0' && i + 1 < s.size() && is_digit(s[i + 1])) return false;  // leading zero
    while (i < s.size() && is_digit(s[i])) ++i;
    ++arcs;
  }
  return arcs >= 1;
}

bool is_absolute_uri(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= s.size() || !is_alpha(s[0]))
    return false;
  for (char c : s.substr(1, colon - 1))
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

std::string target_system_problem(std::string_view system, const SystemRegistry* registry) {
  if (starts_with(system, kOidPrefix)) {
    if (is_oid_uri(system)) return {};
    return "target_system " + quoted(system) +
           " is not a valid OID URI (urn:oid: then numbers separated by dots, e.g. "
           "urn:oid:2.16.840.1.113883.19.5)";
  }
  if (starts_with(system, kPhrgatePrefix)) {
    if (system.size() > kPhrgatePrefix.size() && is_absolute_uri(system)) return {};
    return "target_system " + quoted(system) +
           " is not a valid urn:phrgate: name (a name must follow, without spaces)";
  }
  if (!registry || registry->contains(system)) return {};
  return "unknown target system " + quoted(system) + " (add it to code_systems.csv if it is right)";
}

bool SystemRegistry::add(std::string_view system, std::size_t line, std::string& problem) {
  if (system.empty()) {
    problem = "system is required";
    return false;
  }
  if (has_outer_space(system)) {
    problem = "system " + quoted(system) + " has leading or trailing white space; remove it";
    return false;
  }
  if (!is_absolute_uri(system)) {
    problem = "system " + quoted(system) +
              " is not an absolute URI (like http://loinc.org or urn:oid:2.16.840.1.113883.6.1)";
    return false;
  }
  if (starts_with(system, kOidPrefix) && !is_oid_uri(system)) {
    problem = target_system_problem(system, nullptr);
    return false;
  }
  auto [it, inserted] = lines_.emplace(system, line);
  if (!inserted) {
    problem = "system " + quoted(system) + " is listed twice (first on line " +
              std::to_string(it->second) + ")";
    return false;
  }
  return true;
}

bool RowChecker::check(const RowCells& row, std::vector<std::string>& problems) {
  if (row.source_system.empty() || row.source_code.empty()) {
    problems.emplace_back("source_system and source_code are required");
    return false;
  }
  if (row.target_system.empty() && row.target_code.empty()) {
    problems.emplace_back("target_system or target_code is required");
    return false;
  }
  bool ok = true;
  const std::pair<const char*, std::string_view> exact_cells[] = {
      {"source_system", row.source_system},
      {"source_code", row.source_code},
      {"target_system", row.target_system},
      {"target_code", row.target_code},
      {"scope", row.scope}};
  for (const auto& [column, value] : exact_cells) {
    if (!has_outer_space(value)) continue;
    problems.push_back(std::string(column) + " " + quoted(value) +
                       " has leading or trailing white space; remove it (values are compared "
                       "and written exactly as they are)");
    ok = false;
  }
  if (!ok) return false;  // the checks below would only repeat the same problem
  if (row.target_system.empty()) {
    problems.emplace_back(
        "target_system is required when target_code is given (a code means nothing without "
        "its system)");
    ok = false;
  }
  if (!row.scope.empty() && !is_source_name(row.scope)) {
    problems.push_back("scope " + quoted(row.scope) +
                       " is not a source name (lower-case letters, digits, '_' and '-', "
                       "starting with a letter or digit, at most 63 characters)");
    ok = false;
  }
  if (!row.target_system.empty() && row.target_system != last_good_system_) {
    std::string problem = target_system_problem(row.target_system, registry_);
    if (problem.empty()) {
      last_good_system_ = row.target_system;
    } else {
      problems.push_back(std::move(problem));
      ok = false;
    }
  }
  if (row.target_system == kUcumSystem && !row.target_code.empty() &&
      row.target_code != last_good_ucum_) {
    std::string problem = ucum_syntax_error(row.target_code);
    if (problem.empty()) {
      last_good_ucum_ = row.target_code;
    } else {
      problems.push_back("target_code " + quoted(row.target_code) +
                         " is not valid UCUM: " + problem);
      ok = false;
    }
  }
  return ok;
}

LoadReport check_mapping_dir(const std::string& dir, const std::string& name_prefix,
                             std::size_t max_errors) {
  LoadReport report;
  report.name_prefix = name_prefix;
  report.max_errors = max_errors;
  (void)CodeMaps::load_dir(dir, report);
  return report;
}

}  // namespace phrgate::mapping
