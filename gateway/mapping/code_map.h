// CodeMaps: the editable code translation tables (mappings/**/*.csv) loaded into memory.
// Used by the converters (HL7 v2 -> FHIR, ...) on the hot path: lookup() never allocates.
// Table format (one format for every CSV under the mappings directory, see mappings/README.md):
//   header row, exactly: source_system,source_code,target_system,target_code,target_display,scope
//   - RFC 4180: comma separated, fields may be "quoted", "" is a quote inside a quoted field,
//     quoted fields may contain commas and line breaks; CRLF or LF line ends; UTF-8 (a BOM is
//     tolerated at the start of the file).
//   - lines starting with '#' (at the start of a record) are comments; blank lines are ignored.
//   - source_system and source_code are required, and target_system or target_code (or both).
//   - scope: empty = applies to every source; otherwise the name of one configured source,
//     whose row wins over the all-sources row for the same (source_system, source_code).
//   - the same (source_system, source_code, scope) twice is an error (in any file).
// load_dir() reads every *.csv under `dir` (recursively, in sorted path order) and fails as a
// whole when any file has an error: errors carry "file:line: message" (file relative to dir).
// Never logs table contents (local codes are harmless, but the loader stays PHI-agnostic).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace phrgate::mapping {

// One target code. The views point into the owning CodeMaps and live as long as it does.
struct MappedCode {
  std::string_view system;
  std::string_view code;
  std::string_view display;
};

class CodeMaps {
 public:
  // Loads every *.csv under `dir`. On any error returns std::nullopt and appends one message
  // per problem to `errors` (when not null).
  static std::optional<CodeMaps> load_dir(const std::string& dir, std::vector<std::string>* errors);
  // Parses one table from memory; `name` is used in error messages ("name:line: ...").
  // Several calls accumulate into the same builder via load_texts().
  static std::optional<CodeMaps> load_texts(
      const std::vector<std::pair<std::string, std::string>>& name_and_text,
      std::vector<std::string>* errors);

  // The row for (source_system, code) with this scope, else the all-sources row, else null.
  // `scope` may be empty (then only all-sources rows match). Never allocates.
  const MappedCode* lookup(std::string_view source_system, std::string_view code,
                           std::string_view scope) const;
  // First 12 hex characters of SHA-256 over the tables' contents (sorted by path), so a
  // conversion can record which table version produced it.
  std::string version() const { return version_; }
  std::size_t size() const { return table_.size(); }

  CodeMaps(CodeMaps&&) noexcept = default;
  CodeMaps& operator=(CodeMaps&&) noexcept = default;
  CodeMaps(const CodeMaps&) = delete;
  CodeMaps& operator=(const CodeMaps&) = delete;
  ~CodeMaps() = default;

 private:
  CodeMaps() = default;

  struct Key {
    std::string_view source_system;
    std::string_view source_code;
    std::string_view scope;
    bool operator==(const Key& o) const {
      return source_system == o.source_system && source_code == o.source_code && scope == o.scope;
    }
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };

  // All strings of all rows, copied once; never reallocated after load (keys and values view it).
  std::unique_ptr<char[]> arena_;
  std::unordered_map<Key, MappedCode, KeyHash> table_;
  std::vector<std::string_view> scopes_;  // distinct non-empty scopes (usually none or few)
  std::string version_;
};

}  // namespace phrgate::mapping
