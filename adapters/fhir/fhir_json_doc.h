// FHIR JSON in and out of a RapidJSON DOM without losing decimal precision: numbers are kept
// as their original text ("1.50" stays "1.50", as FHIR requires), marked inside the DOM as
// strings starting with kNumberMark, and written back as JSON numbers. Used by the FHIR
// converter and the push receiver's validation. The structural check rejects strings
// holding control characters, so a marked number can never be confused with a string.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace phrgate::fhir {

inline constexpr char kNumberMark = '\x01';

// Parses `text` into `doc`. False (doc unspecified) with `error` naming the offset on bad JSON.
bool parse_fhir_json(std::string_view text, rapidjson::Document& doc, std::string& error);

// Appends `v` as compact JSON; members named in `skip_members` at the top level are left out
// (e.g. "meta"). Marked numbers are written back as numbers.
void write_fhir_json(std::string& out, const rapidjson::Value& v, std::string_view skip_member = {});

inline bool is_marked_number(const rapidjson::Value& v) {
  return v.IsString() && v.GetStringLength() > 0 && v.GetString()[0] == kNumberMark;
}
// The string value of member `key` of object `v` ("" when absent or not a plain string).
std::string_view string_member(const rapidjson::Value& v, std::string_view key);
// Member `key` of object `v`, or null.
const rapidjson::Value* member(const rapidjson::Value& v, std::string_view key);
rapidjson::Value* member(rapidjson::Value& v, std::string_view key);
inline std::string_view view(const rapidjson::Value& s) { return {s.GetString(), s.GetStringLength()}; }

}  // namespace phrgate::fhir
