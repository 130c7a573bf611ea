// CodeMaps loader: reads every table once into one arena, parses the RFC 4180 CSV in place
// (fields are views into the arena; quoted fields are unescaped where they lie), applies the
// shared row rules (code_map_check.h), then builds an open-addressing hash table sized up front.
// Loading allocates freely (start-up, SIGHUP, `phrgate mappings check`); lookup() never does.
#include "gateway/mapping/code_map.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "gateway/mapping/code_map_check.h"

namespace phrgate::mapping {
namespace {

constexpr std::string_view kHeader[] = {"source_system", "source_code",    "target_system",
                                        "target_code",   "target_display", "scope"};
constexpr std::size_t kColumns = 6;
constexpr std::size_t kScopeFilterMax = 16;  // beyond this many scopes, probe without filtering

// One CSV record: up to kColumns fields (views into the arena) and how many there were.
struct Record {
  std::array<std::string_view, kColumns> fields;
  std::size_t count = 0;
  std::size_t line = 0;  // where the record starts
};

// Bytes that end an unquoted field or must be looked at.
constexpr std::array<bool, 256> kStopBytes = [] {
  std::array<bool, 256> t{};
  t['\n'] = t['\r'] = t[','] = t['"'] = true;
  return t;
}();

// Splits [p, end) into records in place, calling on_record(const Record&) -> bool (false
// stops the scan) and on_error(line, message). A stray quote skips the rest of its line; an
// unterminated quoted field ends the scan. Comment ('#' first) and blank lines are skipped.
template <typename OnRecord, typename OnError>
void scan_csv(char* p, char* const end, OnRecord&& on_record, OnError&& on_error) {
  std::size_t line = 1;
  if (end - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  auto skip_line = [&] {
    char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    p = nl ? nl + 1 : end;
    ++line;
  };
  while (p < end) {
    if (*p == '\n' || *p == '\r') {  // blank line
      if (*p == '\r' && p + 1 < end && p[1] == '\n') ++p;
      ++p;
      ++line;
      continue;
    }
    if (*p == '#') {
      skip_line();
      continue;
    }
    Record rec;
    rec.line = line;
    bool bad = false;
    while (true) {
      std::string_view field;
      if (p < end && *p == '"') {
        char* const start = ++p;
        char* out = p;
        bool closed = false;
        while (p < end) {
          const char c = *p;
          if (c == '"') {
            if (p + 1 < end && p[1] == '"') {
              *out++ = '"';
              p += 2;
              continue;
            }
            ++p;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          *out++ = c;
          ++p;
        }
        if (!closed) {
          on_error(rec.line, "unterminated quoted field");
          return;
        }
        field = std::string_view(start, static_cast<std::size_t>(out - start));
        if (p < end && *p != ',' && *p != '\r' && *p != '\n') {
          on_error(line, "unexpected character after closing quote");
          bad = true;
        }
      } else {
        char* const start = p;
        while (p < end && !kStopBytes[static_cast<unsigned char>(*p)]) ++p;
        if (p < end && *p == '"') {
          on_error(line, "quote inside an unquoted field (quote the whole field)");
          bad = true;
        }
        field = std::string_view(start, static_cast<std::size_t>(p - start));
      }
      if (bad) {
        skip_line();
        break;
      }
      if (rec.count < kColumns) rec.fields[rec.count] = field;
      ++rec.count;
      if (p >= end) break;
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '\r' && p + 1 < end && p[1] == '\n') ++p;
      ++p;
      ++line;
      break;
    }
    if (!bad && !on_record(rec)) return;
  }
}

// Word-at-a-time multiply-xorshift over the three key parts (each length-prefixed), finished
// with the MurmurHash3 64-bit finalizer. Table contents are trusted; lookups never insert.
inline std::uint64_t mix_part(std::uint64_t h, std::string_view s) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  h = (h ^ s.size()) * kMul;
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  return h;
}

inline std::uint64_t key_hash(std::string_view system, std::string_view code,
                              std::string_view scope) {
  std::uint64_t h = mix_part(mix_part(mix_part(0x243F6A8885A308D3ULL, system), code), scope);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

std::string join_fields(const std::string_view* names, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(i ? "," : "").append(names[i]);
  return out;
}

void append_errors(const LoadReport& report, std::vector<std::string>* errors) {
  if (!errors) return;
  errors->insert(errors->end(), report.errors.begin(), report.errors.end());
  if (report.errors_not_shown > 0)
    errors->push_back("(" + std::to_string(report.errors_not_shown) + " more errors not shown)");
}

}  // namespace

namespace detail {

// One table's bytes inside the arena, named by its path relative to the directory.
struct TableText {
  std::string name;
  char* data = nullptr;
  std::size_t size = 0;
};

// Turns the arena's tables into a CodeMaps, or into the report's errors.
class TableSetLoader {
 public:
  explicit TableSetLoader(LoadReport& report) : report_(report) {}

  std::optional<CodeMaps> load(std::unique_ptr<char[]> arena, std::vector<TableText> tables) {
    tables_ = std::move(tables);
    CodeMaps maps;
    maps.arena_ = std::move(arena);
    maps.version_ = version();  // before parsing: parsing rewrites quoted fields in place

    const SystemRegistry* registry = nullptr;
    for (std::size_t f = 0; f < tables_.size(); ++f)
      if (tables_[f].name == kRegistryFile) registry = read_registry(f);
    if (!registry)
      report_.warnings.push_back(report_.name_prefix + std::string(kRegistryFile) +
                                 ": warning: not found; target systems are not checked against a "
                                 "registry (copy it from the shipped mappings/)");

    std::size_t newlines = 0;  // at least one per row: reserve once, never regrow
    for (const TableText& t : tables_)
      newlines += static_cast<std::size_t>(std::count(t.data, t.data + t.size, '\n'));
    maps.entries_.reserve(newlines + tables_.size());
    locations_.reserve(newlines + tables_.size());
    RowChecker checker(registry);
    for (std::size_t f = 0; f < tables_.size(); ++f)
      if (tables_[f].name != kRegistryFile) read_table(f, checker, maps);
    build_index(maps);
    finish_errors();
    if (!problems_.empty() || report_.errors_not_shown > 0) return std::nullopt;
    return maps;
  }

 private:
  struct Problem {
    std::size_t file;
    std::size_t line;  // 0: the whole file
    std::string message;
  };

  void error(std::size_t file, std::size_t line, std::string message) {
    if (report_.max_errors != 0 && problems_.size() >= report_.max_errors) {
      ++report_.errors_not_shown;
      return;
    }
    problems_.push_back({file, line, std::move(message)});
  }

  // "file:line" of entry i.
  std::string where(std::size_t i) const {
    return report_.name_prefix + tables_[locations_[i].file].name + ":" +
           std::to_string(locations_[i].line);
  }

  std::string version() const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    for (const TableText& t : tables_) {
      // Length-prefixed so that moving bytes between files changes the version.
      const std::string size = std::to_string(t.size) + ":";
      EVP_DigestUpdate(ctx, size.data(), size.size());
      EVP_DigestUpdate(ctx, t.data, t.size);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx, digest, &length);
    EVP_MD_CTX_free(ctx);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < 6 && i < length; ++i) {
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 0xF]);
    }
    return hex;
  }

  struct ScanResult {
    bool header_ok = false;
    std::size_t records = 0;  // data records after the header, well-formed or not
  };

  // Scans table f; on_row gets each data record with the right number of fields.
  template <typename OnRow>
  ScanResult scan_table(std::size_t f, const std::string_view* header, std::size_t columns,
                        OnRow&& on_row) {
    TableText& t = tables_[f];
    bool header_seen = false;
    ScanResult result;
    scan_csv(
        t.data, t.data + t.size,
        [&](const Record& rec) {
          if (!header_seen) {
            header_seen = true;
            bool ok = rec.count == columns;
            for (std::size_t c = 0; ok && c < columns; ++c) ok = rec.fields[c] == header[c];
            if (!ok) error(f, rec.line, "header must be exactly " + join_fields(header, columns));
            result.header_ok = ok;
            return ok;
          }
          ++result.records;
          if (rec.count != columns) {
            error(f, rec.line,
                  "expected " + std::to_string(columns) + " fields, found " +
                      std::to_string(rec.count));
            return true;
          }
          on_row(rec);
          return true;
        },
        [&](std::size_t line, const char* message) { error(f, line, message); });
    if (!header_seen) error(f, 1, "missing header row");
    return result;
  }

  // The registry, or null when its header is wrong (already an error; looking systems up in
  // an empty registry would only bury that error under one per row).
  const SystemRegistry* read_registry(std::size_t f) {
    std::string problem;
    const ScanResult scan =
        scan_table(f, kRegistryHeader, std::size(kRegistryHeader), [&](const Record& rec) {
          if (!registry_.add(rec.fields[0], rec.line, problem))
            error(f, rec.line, std::move(problem));
        });
    report_.code_systems = registry_.size();
    return scan.header_ok ? &registry_ : nullptr;
  }

  void read_table(std::size_t f, RowChecker& checker, CodeMaps& maps) {
    ++report_.tables;
    std::vector<std::string> row_problems;
    const ScanResult scan = scan_table(f, kHeader, kColumns, [&](const Record& rec) {
      const RowCells row{rec.fields[0], rec.fields[1], rec.fields[2],
                         rec.fields[3], rec.fields[4], rec.fields[5]};
      if (!checker.check(row, row_problems)) {
        for (std::string& p : row_problems) error(f, rec.line, std::move(p));
        row_problems.clear();
        return;
      }
      maps.entries_.push_back({row.source_system, row.source_code, row.scope,
                               MappedCode{row.target_system, row.target_code, row.target_display}});
      locations_.push_back({f, rec.line});
      if (!row.scope.empty() && row.scope != last_scope_) {
        last_scope_ = row.scope;
        scopes_.insert(row.scope);
      }
    });
    report_.rows += scan.records;
  }

  void build_index(CodeMaps& maps) {
    auto& entries = maps.entries_;
    if (entries.size() >= 0xFFFFFFFFu) {
      error(0, 0, "more than 4 billion rows");
      return;
    }
    std::size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity <<= 1;
    maps.slots_.assign(capacity, 0);
    maps.slot_mask_ = capacity - 1;
    // Hashes are computed kAhead entries early and their slots prefetched: the slot array is
    // far larger than the caches, so each insert would otherwise wait for memory.
    constexpr std::size_t kAhead = 16;
    std::array<std::uint64_t, kAhead> ahead{};
    auto hash_and_prefetch = [&](std::size_t k) {
      const auto& e = entries[k];
      const std::uint64_t h = key_hash(e.source_system, e.source_code, e.scope);
      __builtin_prefetch(&maps.slots_[h & maps.slot_mask_], 1);
      ahead[k % kAhead] = h;
    };
    for (std::size_t k = 0; k < kAhead && k < entries.size(); ++k) hash_and_prefetch(k);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      const std::uint64_t h = ahead[i % kAhead];
      if (i + kAhead < entries.size()) hash_and_prefetch(i + kAhead);
      const std::uint64_t tag = h >> 32;
      std::size_t s = h & maps.slot_mask_;
      bool duplicate = false;
      for (; maps.slots_[s] != 0; s = (s + 1) & maps.slot_mask_) {
        if ((maps.slots_[s] >> 32) != tag) continue;
        const std::size_t j = (maps.slots_[s] & 0xFFFFFFFFu) - 1;
        const auto& first = entries[j];
        if (first.source_code != e.source_code || first.source_system != e.source_system ||
            first.scope != e.scope)
          continue;
        report_duplicate(entries, i, j);
        duplicate = true;
        break;
      }
      if (!duplicate) maps.slots_[s] = (tag << 32) | (i + 1);
    }
    maps.scopes_.assign(scopes_.begin(), scopes_.end());
    std::sort(maps.scopes_.begin(), maps.scopes_.end());
  }

  // Every repeat of a key is an error. The message names the key's first row and says which
  // kind of repeat this is, comparing with every earlier row of the key: identical to one of
  // them (harmless but refused), the same target with another display, or a conflict.
  void report_duplicate(const std::vector<CodeMaps::Entry>& entries, std::size_t i,
                        std::size_t first) {
    const CodeMaps::Entry& e = entries[i];
    std::size_t identical = SIZE_MAX, same_target = SIZE_MAX;
    auto compare = [&](std::size_t k) {
      const MappedCode& v = entries[k].value;
      if (v.system != e.value.system || v.code != e.value.code) return;
      if (v.display == e.value.display && identical == SIZE_MAX) identical = k;
      if (same_target == SIZE_MAX) same_target = k;
    };
    compare(first);
    std::vector<std::size_t>& later = repeats_[first];
    for (std::size_t k : later) compare(k);
    later.push_back(i);
    const MappedCode& f = entries[first].value;
    std::string message = "duplicate row for (" + std::string(e.source_system) + ", " +
                          std::string(e.source_code) + ", scope '" + std::string(e.scope) +
                          "'), first at " + where(first) + ": ";
    if (identical != SIZE_MAX)
      message += "identical to the row at " + where(identical) + "; delete one";
    else if (same_target != SIZE_MAX)
      message += "same target as the row at " + where(same_target) +
                 " with another target_display; keep one";
    else
      message += "conflicting targets (" + std::string(e.value.system) + "|" +
                 std::string(e.value.code) + " here, " + std::string(f.system) + "|" +
                 std::string(f.code) + " there); keep the right one";
    error(locations_[i].file, locations_[i].line, std::move(message));
  }

  void finish_errors() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return a.file != b.file ? a.file < b.file : a.line < b.line;
    });
    for (Problem& p : problems_) {
      const std::string name =
          tables_.empty() ? std::string() : report_.name_prefix + tables_[p.file].name;
      report_.errors.push_back(p.line ? name + ":" + std::to_string(p.line) + ": " + p.message
                                      : name + ": " + p.message);
    }
  }

  struct Location {
    std::size_t file;
    std::size_t line;
  };

  LoadReport& report_;
  std::vector<TableText> tables_;
  std::vector<Problem> problems_;
  std::vector<Location> locations_;  // per entry, for duplicate messages
  std::unordered_map<std::size_t, std::vector<std::size_t>> repeats_;  // first -> later entries
  SystemRegistry registry_;
  std::unordered_set<std::string_view> scopes_;
  std::string_view last_scope_;
};

}  // namespace detail

std::optional<CodeMaps> CodeMaps::load_texts(
    const std::vector<std::pair<std::string, std::string>>& name_and_text, LoadReport& report) {
  std::size_t total = 0;
  for (const auto& nt : name_and_text) total += nt.second.size();
  std::unique_ptr<char[]> arena(new char[total + 1]);
  std::vector<detail::TableText> tables;
  tables.reserve(name_and_text.size());
  char* cursor = arena.get();
  for (const auto& [name, text] : name_and_text) {
    std::memcpy(cursor, text.data(), text.size());
    tables.push_back({name, cursor, text.size()});
    cursor += text.size();
  }
  return detail::TableSetLoader(report).load(std::move(arena), std::move(tables));
}

bool list_table_files(const std::string& dir, std::vector<std::string>& paths, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  paths.clear();
  if (!fs::is_directory(dir, ec)) {
    error = dir + ": not a directory";
    return false;
  }
  // Hidden files and folders are skipped: editor and OS droppings such as "._x.csv", ".git".
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string file_name = it->path().filename().string();
    if (!file_name.empty() && file_name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // mappings/identity/ holds the patient matcher's tables (nicknames.csv), not code maps.
    if (it.depth() == 0 && file_name == "identity" && it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && it->path().extension() == ".csv")
      paths.push_back(it->path().lexically_relative(dir).generic_string());
  }
  if (ec) {
    error = dir + ": cannot list directory: " + ec.message();
    return false;
  }
  std::sort(paths.begin(), paths.end());
  return true;
}

std::optional<CodeMaps> CodeMaps::load_dir(const std::string& dir, LoadReport& report) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  std::string list_error;
  if (!list_table_files(dir, paths, list_error)) {
    report.errors.push_back(list_error);
    return std::nullopt;
  }

  // One allocation for all tables; each file is read once, straight into its place.
  std::vector<std::size_t> sizes(paths.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    sizes[i] = static_cast<std::size_t>(fs::file_size(fs::path(dir) / paths[i], ec));
    if (ec) {
      report.errors.push_back(report.name_prefix + paths[i] + ": cannot read: " + ec.message());
      return std::nullopt;
    }
    total += sizes[i];
  }
  std::unique_ptr<char[]> arena(new char[total + 1]);
  std::vector<detail::TableText> tables;
  tables.reserve(paths.size());
  char* cursor = arena.get();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    std::FILE* f = std::fopen((fs::path(dir) / paths[i]).c_str(), "rb");
    if (!f) {
      report.errors.push_back(report.name_prefix + paths[i] + ": cannot open");
      return std::nullopt;
    }
    const std::size_t got = std::fread(cursor, 1, sizes[i], f);
    char extra;
    const bool changed = got != sizes[i] || std::fread(&extra, 1, 1, f) != 0;
    std::fclose(f);
    if (changed) {
      report.errors.push_back(report.name_prefix + paths[i] +
                              ": changed while being read; load again");
      return std::nullopt;
    }
    tables.push_back({paths[i], cursor, sizes[i]});
    cursor += sizes[i];
  }
  return detail::TableSetLoader(report).load(std::move(arena), std::move(tables));
}

std::optional<CodeMaps> CodeMaps::load_texts(
    const std::vector<std::pair<std::string, std::string>>& name_and_text,
    std::vector<std::string>* errors) {
  LoadReport report;
  auto maps = load_texts(name_and_text, report);
  if (!maps) append_errors(report, errors);
  return maps;
}

std::optional<CodeMaps> CodeMaps::load_dir(const std::string& dir,
                                           std::vector<std::string>* errors) {
  LoadReport report;
  auto maps = load_dir(dir, report);
  if (!maps) append_errors(report, errors);
  return maps;
}

const MappedCode* CodeMaps::find(std::string_view source_system, std::string_view code,
                                 std::string_view scope) const {
  if (slots_.empty()) return nullptr;
  const std::uint64_t h = key_hash(source_system, code, scope);
  const std::uint64_t tag = h >> 32;
  for (std::size_t s = h & slot_mask_;; s = (s + 1) & slot_mask_) {
    const std::uint64_t slot = slots_[s];
    if (slot == 0) return nullptr;
    if ((slot >> 32) != tag) continue;
    const Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
    if (e.source_code == code && e.source_system == source_system && e.scope == scope)
      return &e.value;
  }
}

const MappedCode* CodeMaps::lookup(std::string_view source_system, std::string_view code,
                                   std::string_view scope) const {
  // Scoped rows are rare: probe for one only when this scope has any (or there are many scopes).
  if (!scope.empty() && (scopes_.size() > kScopeFilterMax ||
                         std::find(scopes_.begin(), scopes_.end(), scope) != scopes_.end())) {
    if (const MappedCode* m = find(source_system, code, scope)) return m;
  }
  return find(source_system, code, {});
}

}  // namespace phrgate::mapping
