// Implementation of the store's JSON string helpers (see stored_json.h). Plain string
// operations only: the splice must never re-parse or re-serialize the resource.
#include "gateway/store/stored_json.h"

#include <cstdio>
#include <ctime>

namespace phrgate::store {

std::string fhir_instant(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(when.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms_total / 1000);
  auto ms = static_cast<int>(ms_total % 1000);
  if (ms < 0) {  // before 1970: floor, not truncate
    ms += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // sized for any int values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string splice_meta(std::string_view json, int64_t version, std::string_view last_updated) {
  std::string meta;
  meta.reserve(64 + last_updated.size());
  meta += "\"meta\":{\"versionId\":\"";
  meta += std::to_string(version);
  meta += "\",\"lastUpdated\":\"";
  meta += last_updated;
  meta += "\"}";

  std::string out;
  out.reserve(json.size() + meta.size() + 2);

  // Compact converter output starts with {"resourceType":"<Type>" (type names are letters only,
  // so the next '"' closes the value).
  constexpr std::string_view kTypeFirst = "{\"resourceType\":\"";
  if (json.starts_with(kTypeFirst)) {
    const std::size_t close = json.find('"', kTypeFirst.size());
    if (close != std::string_view::npos && close + 1 < json.size()) {
      const char after = json[close + 1];
      if (after == ',') {  // {"resourceType":"X",<meta>,<rest>
        out.append(json.substr(0, close + 2));
        out += meta;
        out += ',';
        out.append(json.substr(close + 2));
        return out;
      }
      if (after == '}') {  // {"resourceType":"X",<meta>}
        out.append(json.substr(0, close + 1));
        out += ',';
        out += meta;
        out.append(json.substr(close + 1));
        return out;
      }
    }
  }

  // General case: right after the opening '{'.
  std::size_t first = 1;
  while (first < json.size() && (json[first] == ' ' || json[first] == '\t' ||
                                 json[first] == '\n' || json[first] == '\r'))
    ++first;
  const bool empty_object = first < json.size() && json[first] == '}';
  out += '{';
  out += meta;
  if (!empty_object) out += ',';
  if (json.size() > 1) out.append(json.substr(1));
  return out;
}

}  // namespace phrgate::store
