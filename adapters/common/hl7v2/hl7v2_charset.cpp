// Implementation of the HL7 v2 character set conversion (see hl7v2_charset.h). Single-byte
// sets map each byte to one code point; the tables below hold only the code points that
// differ from ISO-8859-1 (facts from ISO-8859-15 and Windows code page 1252).
#include "adapters/common/hl7v2/hl7v2_charset.h"

#include <cstdint>

namespace phrgate::hl7v2 {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ISO-8859-15 differs from ISO-8859-1 at eight positions.
uint32_t latin9(unsigned char b) {
  switch (b) {
    case 0xA4: return 0x20AC;  // euro sign
    case 0xA6: return 0x0160;  // S caron
    case 0xA8: return 0x0161;  // s caron
    case 0xB4: return 0x017D;  // Z caron
    case 0xB8: return 0x017E;  // z caron
    case 0xBC: return 0x0152;  // OE ligature
    case 0xBD: return 0x0153;  // oe ligature
    case 0xBE: return 0x0178;  // Y diaeresis
    default: return b;
  }
}

// Windows-1252 puts printable characters in 0x80..0x9F (undefined bytes stay C1 controls).
uint32_t cp1252(unsigned char b) {
  static constexpr uint16_t k80[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  return b >= 0x80 && b <= 0x9F ? k80[b - 0x80] : b;
}

// Length of the well-formed UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; cp = b0 & 0x1F; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; cp = b0 & 0x0F; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; cp = b0 & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong / range
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;  // surrogates
  return n;
}

}  // namespace

std::optional<Charset> charset_from_name(std::string_view name) {
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  if (iequals(name, "ASCII")) return Charset::Ascii;
  if (iequals(name, "8859/1")) return Charset::Latin1;
  if (iequals(name, "8859/15")) return Charset::Latin9;
  if (iequals(name, "UNICODE UTF-8") || iequals(name, "UNICODE") || iequals(name, "UTF-8")) return Charset::Utf8;
  if (iequals(name, "CP1252") || iequals(name, "WINDOWS-1252")) return Charset::Windows1252;
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void to_utf8(std::string_view in, Charset from, std::string& out) {
  out.clear();
  out.reserve(in.size() + in.size() / 8);
  for (std::size_t i = 0; i < in.size();) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if (from == Charset::Utf8) {
      if (const std::size_t n = utf8_sequence(in, i)) {
        out.append(in.substr(i, n));
        i += n;
        continue;
      }
    }
    const uint32_t cp = from == Charset::Latin9 ? latin9(b) : from == Charset::Windows1252 ? cp1252(b) : b;
    append_code_point(out, cp);
    ++i;
  }
}

}  // namespace phrgate::hl7v2
