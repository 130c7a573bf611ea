// Unit tests of HL7 v2 character sets (table 0211 names) and their conversion to UTF-8.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/common/hl7v2/hl7v2_charset.h"

using namespace phrgate::hl7v2;

TEST_CASE("table 0211 names are recognised, unknown ones are not", "[charset]") {
  CHECK(charset_from_name("8859/1") == Charset::Latin1);
  CHECK(charset_from_name(" unicode utf-8 ") == Charset::Utf8);
  CHECK(charset_from_name("ASCII") == Charset::Ascii);
  CHECK(charset_from_name("8859/15") == Charset::Latin9);
  CHECK_FALSE(charset_from_name("ISO IR87"));
  CHECK_FALSE(charset_from_name("UNICODE UTF-16"));
  CHECK_FALSE(charset_from_name(""));
}

TEST_CASE("ISO-8859-1, -15 and Windows-1252 bytes become UTF-8", "[charset]") {
  std::string out;
  to_utf8("M\xFCller \xE9t\xE9", Charset::Latin1, out);
  CHECK(out == "M\xC3\xBCller \xC3\xA9t\xC3\xA9");
  to_utf8("\xA4", Charset::Latin1, out);
  CHECK(out == "\xC2\xA4");  // currency sign in Latin-1
  to_utf8("\xA4", Charset::Latin9, out);
  CHECK(out == "\xE2\x82\xAC");  // euro sign in Latin-9
  to_utf8("\x93quoted\x94", Charset::Windows1252, out);
  CHECK(out == "\xE2\x80\x9Cquoted\xE2\x80\x9D");
  // Latin-1 text that happens to look like UTF-8 is still read as Latin-1.
  to_utf8("\xC3\xA9", Charset::Latin1, out);
  CHECK(out == "\xC3\x83\xC2\xA9");
  CHECK(is_valid_utf8(out));
}

TEST_CASE("UTF-8 is copied; malformed bytes are read as Latin-1 so the output is valid", "[charset]") {
  std::string out;
  to_utf8("Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80", Charset::Utf8, out);
  CHECK(out == "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80");
  to_utf8("bad \xFF end \xC3", Charset::Utf8, out);
  CHECK(out == "bad \xC3\xBF end \xC3\x83");
  CHECK(is_valid_utf8(out));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK(is_valid_utf8("plain"));
}
