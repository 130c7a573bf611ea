// Builders shared by the HL7 v2 converter tests: segments from (field number, value) pairs,
// messages from segments, and the shipped mapping tables (PHRGATE_MAPPINGS_DIR) loaded once.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/mapping/code_map.h"

namespace phrgate::testing {

using Fields = std::initializer_list<std::pair<int, std::string_view>>;

// Builds "ID|f1|f2|..." from (field number, value) pairs; MSH numbering starts at 3.
inline std::string seg(std::string_view id, Fields fields) {
  int max = 0;
  for (const auto& f : fields) max = std::max(max, f.first);
  std::vector<std::string_view> v(static_cast<std::size_t>(max) + 1);
  for (const auto& f : fields) v[static_cast<std::size_t>(f.first)] = f.second;
  std::string s(id);
  if (id == "MSH") s += "|^~\\&";
  for (int i = id == "MSH" ? 3 : 1; i <= max; ++i) {
    s += '|';
    s += v[static_cast<std::size_t>(i)];
  }
  return s;
}

inline std::string join(std::initializer_list<std::string> segments) {
  std::string m;
  for (const auto& s : segments) m += s + "\r";
  return m;
}

inline const mapping::CodeMaps& code_maps() {
  static const mapping::CodeMaps maps = [] {
    std::vector<std::string> errors;
    // PHRGATE_TEST_MAPPINGS_DIR overrides the shipped tables (e.g. a trimmed copy).
    const char* dir = std::getenv("PHRGATE_TEST_MAPPINGS_DIR");
    auto m = mapping::CodeMaps::load_dir(dir && *dir ? dir : PHRGATE_MAPPINGS_DIR, &errors);
    if (!m) throw std::runtime_error("cannot load mappings: " + (errors.empty() ? "" : errors[0]));
    return std::move(*m);
  }();
  return maps;
}

}  // namespace phrgate::testing
