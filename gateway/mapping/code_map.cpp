// CodeMaps loader: RFC 4180 CSV parsing, validation with file:line errors, and the
// allocation-free lookup table (string_views into one arena). See code_map.h for the format.
// Loading allocates freely (it runs at start-up and on SIGHUP); lookup() must never allocate.
#include "gateway/mapping/code_map.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/core/resource_id.h"

namespace phrgate::mapping {
namespace {

constexpr std::string_view kHeader[] = {"source_system", "source_code", "target_system",
                                        "target_code",   "target_display", "scope"};
constexpr std::size_t kColumns = 6;

struct Row {
  std::array<std::string, kColumns> fields;
  std::string location;  // "file:line"
};

// Splits `text` into records of fields (RFC 4180). Each record remembers the line it starts
// on. Comment records ('#' as the first character of a record) and blank lines are skipped.
// Returns false (with an error) on an unterminated quote or a stray quote in a plain field.
struct Record {
  std::vector<std::string> fields;
  std::size_t line = 0;
};

bool split_csv(std::string_view text, const std::string& name, std::vector<Record>& out,
               std::vector<std::string>& errors) {
  std::size_t i = 0;
  std::size_t line = 1;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  const std::size_t n = text.size();
  while (i < n) {
    // Start of a record.
    if (text[i] == '\r' || text[i] == '\n') {  // blank line
      if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      continue;
    }
    if (text[i] == '#') {  // comment line
      while (i < n && text[i] != '\n') ++i;
      if (i < n) ++i;
      ++line;
      continue;
    }
    Record rec;
    rec.line = line;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (i < n && text[i] == '"') {  // quoted field
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          errors.push_back(name + ":" + std::to_string(rec.line) + ": unterminated quoted field");
          return false;
        }
        if (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          errors.push_back(name + ":" + std::to_string(line) +
                           ": unexpected character after closing quote");
          return false;
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') {
            errors.push_back(name + ":" + std::to_string(line) +
                             ": quote inside an unquoted field (quote the whole field)");
            return false;
          }
          field.push_back(text[i]);
          ++i;
        }
      }
      rec.fields.push_back(field);
      if (i >= n) {
        end_of_record = true;
      } else if (text[i] == ',') {
        ++i;
      } else {  // line end
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        end_of_record = true;
      }
    }
    out.push_back(std::move(rec));
  }
  return true;
}

bool parse_table(std::string_view text, const std::string& name, std::vector<Row>& rows,
                 std::vector<std::string>& errors) {
  std::vector<Record> records;
  if (!split_csv(text, name, records, errors)) return false;
  if (records.empty()) {
    errors.push_back(name + ":1: missing header row");
    return false;
  }
  const Record& header = records.front();
  bool header_ok = header.fields.size() == kColumns;
  for (std::size_t c = 0; header_ok && c < kColumns; ++c) header_ok = header.fields[c] == kHeader[c];
  if (!header_ok) {
    errors.push_back(name + ":" + std::to_string(header.line) +
                     ": header must be exactly "
                     "source_system,source_code,target_system,target_code,target_display,scope");
    return false;
  }
  bool ok = true;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const Record& rec = records[r];
    const std::string where = name + ":" + std::to_string(rec.line);
    if (rec.fields.size() != kColumns) {
      errors.push_back(where + ": expected 6 fields, found " + std::to_string(rec.fields.size()));
      ok = false;
      continue;
    }
    if (rec.fields[0].empty() || rec.fields[1].empty()) {
      errors.push_back(where + ": source_system and source_code are required");
      ok = false;
      continue;
    }
    if (rec.fields[2].empty() && rec.fields[3].empty()) {
      errors.push_back(where + ": target_system or target_code is required");
      ok = false;
      continue;
    }
    Row row;
    for (std::size_t c = 0; c < kColumns; ++c) row.fields[c] = rec.fields[c];
    row.location = where;
    rows.push_back(std::move(row));
  }
  return ok;
}

}  // namespace

// FNV-1a over the three parts (with a separator byte between them): inlined and cheaper
// than std::hash for the short codes looked up here, and good enough for a few thousand keys.
std::size_t CodeMaps::KeyHash::operator()(const Key& k) const noexcept {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (char ch : s) {
      h ^= static_cast<unsigned char>(ch);
      h *= 1099511628211ULL;
    }
    h ^= 0xFF;
    h *= 1099511628211ULL;
  };
  mix(k.source_system);
  mix(k.source_code);
  mix(k.scope);
  return static_cast<std::size_t>(h);
}

std::optional<CodeMaps> CodeMaps::load_texts(
    const std::vector<std::pair<std::string, std::string>>& name_and_text,
    std::vector<std::string>* errors) {
  std::vector<std::string> local_errors;
  std::vector<Row> rows;
  bool ok = true;
  std::string hash_input;
  for (const auto& [name, text] : name_and_text) {
    if (!parse_table(text, name, rows, local_errors)) ok = false;
    // Length-prefixed so that moving bytes between files changes the version.
    hash_input += std::to_string(text.size());
    hash_input += ':';
    hash_input += text;
  }

  CodeMaps maps;
  std::size_t arena_size = 0;
  for (const Row& row : rows)
    for (const std::string& f : row.fields) arena_size += f.size();
  maps.arena_ = std::make_unique<char[]>(arena_size + 1);
  char* cursor = maps.arena_.get();
  auto keep = [&cursor](const std::string& s) {
    std::memcpy(cursor, s.data(), s.size());
    std::string_view v(cursor, s.size());
    cursor += s.size();
    return v;
  };
  std::unordered_map<Key, std::size_t, KeyHash> first_row;  // for duplicate messages
  maps.table_.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    Key key{keep(row.fields[0]), keep(row.fields[1]), keep(row.fields[5])};
    MappedCode value{keep(row.fields[2]), keep(row.fields[3]), keep(row.fields[4])};
    auto [it, inserted] = first_row.emplace(key, r);
    if (!inserted) {
      local_errors.push_back(row.location + ": duplicate row for (" + row.fields[0] + ", " +
                             row.fields[1] + ", scope '" + row.fields[5] + "'), first at " +
                             rows[it->second].location);
      ok = false;
      continue;
    }
    maps.table_.emplace(key, value);
    if (!key.scope.empty() &&
        std::find(maps.scopes_.begin(), maps.scopes_.end(), key.scope) == maps.scopes_.end())
      maps.scopes_.push_back(key.scope);
  }
  if (!ok) {
    if (errors) errors->insert(errors->end(), local_errors.begin(), local_errors.end());
    return std::nullopt;
  }
  maps.version_ = sha256_hex(hash_input).substr(0, 12);
  return maps;
}

std::optional<CodeMaps> CodeMaps::load_dir(const std::string& dir, std::vector<std::string>* errors) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (errors) errors->push_back(dir + ": not a directory");
    return std::nullopt;
  }
  std::vector<std::string> paths;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".csv")
      paths.push_back(it->path().lexically_relative(dir).generic_string());
  }
  if (ec) {
    if (errors) errors->push_back(dir + ": cannot list directory: " + ec.message());
    return std::nullopt;
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> texts;
  texts.reserve(paths.size());
  for (const std::string& rel : paths) {
    std::ifstream in(fs::path(dir) / rel, std::ios::binary);
    if (!in) {
      if (errors) errors->push_back(rel + ": cannot open");
      return std::nullopt;
    }
    std::ostringstream content;
    content << in.rdbuf();
    texts.emplace_back(rel, content.str());
  }
  return load_texts(texts, errors);
}

const MappedCode* CodeMaps::lookup(std::string_view source_system, std::string_view code,
                                   std::string_view scope) const {
  // Scoped rows are rare: only probe for them when this scope has any.
  if (!scope.empty() && std::find(scopes_.begin(), scopes_.end(), scope) != scopes_.end()) {
    auto it = table_.find(Key{source_system, code, scope});
    if (it != table_.end()) return &it->second;
  }
  auto it = table_.find(Key{source_system, code, {}});
  return it == table_.end() ? nullptr : &it->second;
}

}  // namespace phrgate::mapping
