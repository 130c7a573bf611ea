// Character sets of HL7 v2 messages (MSH-18, HL7 table 0211) and their conversion to UTF-8,
// the only encoding phrgate writes. A message is converted as the character set it declares
// in MSH-18, or, when MSH-18 is empty, as the sender's configured default. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace phrgate::hl7v2 {

enum class Charset {
  Ascii,     // "ASCII": 7-bit; bytes >= 0x80 are read as ISO-8859-1 (lenient)
  Latin1,    // "8859/1"
  Latin9,    // "8859/15" (ISO-8859-15: Latin-1 with the euro sign and 7 other changes)
  Windows1252,  // not in table 0211, but what many Windows EMRs mean by "8859/1"; config only
  Utf8,      // "UNICODE UTF-8" (and the older bare "UNICODE" when the bytes are UTF-8)
};

// Table 0211 name (case-insensitive; "" gives nullopt) -> Charset; nullopt when phrgate
// cannot convert it (ISO IR87, UNICODE UTF-16/32, 8859/2..9 ...).
std::optional<Charset> charset_from_name(std::string_view name);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `in` read as `from`, written to `out` as UTF-8 (replacing `out`). UTF-8 input is copied,
// with malformed bytes read as ISO-8859-1 (so nothing is lost and the output is valid).
void to_utf8(std::string_view in, Charset from, std::string& out);

}  // namespace phrgate::hl7v2
