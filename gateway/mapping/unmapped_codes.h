// Unmapped codes: the coded values a converter met but found no mapping row for (local codes
// without a translation, units without a UCUM row, ...), counted so an operator can see which
// rows to add (GET /api/unmapped). Three parts: the converter's hook (UnmappedCodeSink), the
// pipeline's per-batch tally (UnmappedCodeCollector) and the counts on disk in their own SQLite
// file, <data_dir>/unmapped.db (UnmappedCodeStore), never in the inbox's file (single writer).
// Codes and displays come from mapping tables' vocabulary, not patients: never log them anyway.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace phrgate::mapping {

// The converter's hook (ConvertOptions::unmapped). `system` is the mapping table's
// source_system the lookup used ("L", "99LAB", "unit", "assigning-authority", "HL70078"), so
// a row (system, code, ..., scope = source) is exactly what would map it. The views are valid
// only during the call. Called on the converting thread; a converter calls it only on a miss,
// and at most once per message for each (system, code).
class UnmappedCodeSink {
 public:
  virtual void unmapped(std::string_view source, std::string_view system, std::string_view code,
                        std::string_view display) = 0;

 protected:
  ~UnmappedCodeSink() = default;
};

// `count`: how many converted messages held the code (converters report a code once per message).
struct UnmappedCode {
  std::string source;
  std::string system;
  std::string code;
  std::string display;
  int64_t count = 0;
  int64_t first_seen_ms = 0;  // Unix epoch milliseconds
  int64_t last_seen_ms = 0;
};

// Tallies one pipeline batch. Reports belong to the message named by the last begin_message()
// call, so a message handed back for a retry can be discarded (it will be converted, and
// counted, again). Not thread-safe: one per pipeline worker. Steady state allocates nothing
// for a code it has already seen in the batch.
class UnmappedCodeCollector final : public UnmappedCodeSink {
 public:
  void begin_message(int64_t tag);
  void unmapped(std::string_view source, std::string_view system, std::string_view code,
                std::string_view display) override;
  // Forgets every report made for `tag`.
  void discard(int64_t tag);
  // The batch's codes with a count above zero (first/last seen = now_ms), then clear().
  std::vector<UnmappedCode> take(int64_t now_ms);
  void clear();
  bool empty() const { return entries_.empty(); }

 private:
  struct Occurrence {
    int64_t tag;
    std::size_t entry;
    int64_t n;
  };
  std::vector<UnmappedCode> entries_;
  std::unordered_map<std::string, std::size_t> index_;  // source \x1f system \x1f code -> entry
  std::vector<Occurrence> occurrences_;                 // in report order
  std::string key_;                                     // reused lookup key
  int64_t tag_ = 0;
};

// Counts per (source, system, code) in their own SQLite file (WAL). record() is called by the
// pipeline worker once per batch, list() by HTTP threads; one connection behind a mutex.
// Crash story: each record() is one transaction, so a crash loses at most the batch in hand
// (these are statistics: they are never needed to convert or deliver a message).
class UnmappedCodeStore {
 public:
  // Opens or creates the file; throws sqlite::SqliteError / std::runtime_error.
  explicit UnmappedCodeStore(const std::string& path);
  ~UnmappedCodeStore();
  UnmappedCodeStore(const UnmappedCodeStore&) = delete;
  UnmappedCodeStore& operator=(const UnmappedCodeStore&) = delete;

  // Adds the counts (one transaction): count += n, last_seen = max, first_seen kept, display
  // replaced by a non-empty newer one.
  void record(const std::vector<UnmappedCode>& codes);

  struct Page {
    std::vector<UnmappedCode> codes;  // by count desc, then source, system, code
    int64_t total = 0;                // matching rows before paging
  };
  // `source` empty: every source.
  Page list(std::string_view source, int64_t offset, int64_t count);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::mapping
