// The nickname table used by patient matching: which given names are the same person's name
// ("WILLIAM" ~ "BILL" ~ "WILL"). Loaded from mappings/identity/nicknames.csv (CSV rows
// name,nickname that hospital IT can edit). Two names are equivalent when one is a nickname
// of the other or both are nicknames of the same formal name. Immutable once built; safe to
// share between threads. Never logs names.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace phrgate::identity {

class NicknameTable {
 public:
  NicknameTable() = default;

  // Parses CSV text: a header row "name,nickname", then one pair per line; '#' comments and
  // blank lines skipped. Names are normalised (upper-case letters only). Malformed lines are
  // reported in `errors` as "line N: reason" (no names echoed) and skipped.
  static NicknameTable parse_csv(std::string_view text, std::vector<std::string>* errors = nullptr);
  // Reads and parses a file; throws std::runtime_error when it cannot be read.
  static NicknameTable load_file(const std::string& path, std::vector<std::string>* errors = nullptr);

  void add(std::string_view name, std::string_view nickname);

  // True when a and b (normalised) are different spellings of one given name per the table.
  bool equivalent(std::string_view a, std::string_view b) const;
  // The formal names a name stands for (itself included); empty when the name is unknown.
  const std::vector<std::string>* formal_names(std::string_view name) const;
  // The nicknames listed for a formal name (empty when none); for test-data generators.
  std::vector<std::string> nicknames_of(std::string_view formal) const;
  std::size_t pairs() const { return pairs_; }

 private:
  // name -> formal names it may stand for (a formal name maps to itself too).
  std::unordered_map<std::string, std::vector<std::string>> formal_;
  std::size_t pairs_ = 0;
};

}  // namespace phrgate::identity
