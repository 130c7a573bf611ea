// CodeMaps: the editable code translation tables (mappings/**/*.csv) loaded into memory.
// Used by the converters (HL7 v2 -> FHIR, ...) on the hot path: lookup() never allocates.
// Table format (one format for every CSV under the mappings directory, see docs/mappings.md):
//   header row, exactly: source_system,source_code,target_system,target_code,target_display,scope
//   - RFC 4180: comma separated, fields may be "quoted", "" is a quote inside a quoted field,
//     quoted fields may contain commas and line breaks; CRLF or LF line ends; UTF-8 (a BOM is
//     tolerated at the start of the file).
//   - lines starting with '#' (at the start of a record) are comments; blank lines are ignored.
//   - source_system and source_code are required, and target_system or target_code (or both).
//   - scope: empty = applies to every source; otherwise the name of one configured source,
//     whose row wins over the all-sources row for the same (source_system, source_code).
//   - the same (source_system, source_code, scope) twice is an error (in any file).
//   - code_systems.csv at the top of the directory is not a mapping table but the registry of
//     target systems (header system,display); every rule is in code_map_check.h.
// load_dir() reads every *.csv under `dir` (recursively, in sorted path order) and fails as a
// whole when any file has an error: errors carry "file:line: message" (file relative to dir).
// `phrgate mappings check` runs this same loader, so a set it refuses never loads.
// Never logs table contents (local codes are harmless, but the loader stays PHI-agnostic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::mapping {

// One target code. The views point into the owning CodeMaps and live as long as it does.
struct MappedCode {
  std::string_view system;
  std::string_view code;
  std::string_view display;
};

// What a load found, for `phrgate mappings check` and the daemon's reload.
struct LoadReport {
  // In: how file names start in messages ("" = relative to the directory; the CLI passes "DIR/").
  std::string name_prefix;
  // In: errors kept in `errors` (0 = all); further ones are only counted in errors_not_shown.
  std::size_t max_errors = 1000;

  // Out: "file:line: message", ordered by file then line. Empty when the load succeeded.
  std::vector<std::string> errors;
  std::size_t errors_not_shown = 0;
  // Out: "file: warning: message" (the load still succeeds), e.g. no code_systems.csv.
  std::vector<std::string> warnings;
  std::size_t tables = 0;        // mapping tables read (code_systems.csv not counted)
  std::size_t rows = 0;          // their data rows
  std::size_t code_systems = 0;  // rows of code_systems.csv (0 when there is none)
  bool ok() const { return errors.empty() && errors_not_shown == 0; }
};

// The files load_dir() reads under `dir`: every *.csv, recursively, skipping hidden files and
// folders, as paths relative to `dir` ('/'-separated) in sorted order. False with `error` set
// ("DIR: not a directory", "DIR: cannot list directory: ...") when `dir` cannot be listed.
bool list_table_files(const std::string& dir, std::vector<std::string>& paths, std::string& error);

namespace detail {
class TableSetLoader;
}

class CodeMaps {
 public:
  // Loads every *.csv under `dir`. On any error returns std::nullopt and appends one message
  // per problem to `errors` (when not null).
  static std::optional<CodeMaps> load_dir(const std::string& dir, std::vector<std::string>* errors);
  // Parses tables from memory, in the order given; each `name` is used in error messages
  // ("name:line: ...") and in the version, like a path under a directory.
  static std::optional<CodeMaps> load_texts(
      const std::vector<std::pair<std::string, std::string>>& name_and_text,
      std::vector<std::string>* errors);
  // The same, reporting into `report` (counts, warnings, error cap; see LoadReport).
  static std::optional<CodeMaps> load_dir(const std::string& dir, LoadReport& report);
  // A text named "code_systems.csv" is the registry of target systems, as in a directory.
  static std::optional<CodeMaps> load_texts(
      const std::vector<std::pair<std::string, std::string>>& name_and_text, LoadReport& report);

  // The row for (source_system, code) with this scope, else the all-sources row, else null.
  // `scope` may be empty (then only all-sources rows match). Never allocates.
  const MappedCode* lookup(std::string_view source_system, std::string_view code,
                           std::string_view scope) const;
  // First 12 hex characters of SHA-256 over the tables' contents (sorted by path), so a
  // conversion can record which table version produced it.
  std::string version() const { return version_; }
  std::size_t size() const { return entries_.size(); }

  CodeMaps(CodeMaps&&) noexcept = default;
  CodeMaps& operator=(CodeMaps&&) noexcept = default;
  CodeMaps(const CodeMaps&) = delete;
  CodeMaps& operator=(const CodeMaps&) = delete;
  ~CodeMaps() = default;

 private:
  friend class detail::TableSetLoader;
  CodeMaps() = default;

  struct Entry {
    std::string_view source_system;
    std::string_view source_code;
    std::string_view scope;
    MappedCode value;
  };
  const MappedCode* find(std::string_view source_system, std::string_view code,
                         std::string_view scope) const;

  // Every table's bytes, read once and parsed in place; all views below point into it.
  std::unique_ptr<char[]> arena_;
  std::vector<Entry> entries_;
  // Open addressing, linear probing, at most half full: 0 = empty, else the high 32 bits of
  // the key's hash and (entry index + 1) in the low 32 bits.
  std::vector<std::uint64_t> slots_;
  std::size_t slot_mask_ = 0;
  std::vector<std::string_view> scopes_;  // distinct non-empty scopes, sorted
  std::string version_;
};

}  // namespace phrgate::mapping
