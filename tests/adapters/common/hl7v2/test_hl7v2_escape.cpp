// Unit tests for HL7 v2 escape decoding (unescape_append) and encoding (escape_append):
// every escape sequence with standard and custom delimiters, truncation, malformed input,
// and an escape/unescape round trip over random text (fixed seed).
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "adapters/common/hl7v2/hl7v2_message.h"

using namespace phrgate::hl7v2;

namespace {

struct Decoded {
  std::string text;
  bool ok;
};

Decoded decode(std::string_view raw, const Delimiters& d = Delimiters{}) {
  Decoded r{"prefix:", false};
  r.ok = unescape_append(r.text, raw, d);
  r.text.erase(0, 7);
  return r;
}

Delimiters custom() {
  Delimiters d;
  d.field = '*';
  d.component = '%';
  d.repetition = '$';
  d.escape = '@';
  d.subcomponent = '!';
  return d;
}

}  // namespace

TEST_CASE("delimiter escapes decode to the message's delimiters", "[hl7v2][escape]") {
  struct Row {
    const char* raw;
    const char* expected;
  };
  const Row rows[] = {
      {"a\\F\\b", "a|b"},   {"a\\S\\b", "a^b"}, {"a\\T\\b", "a&b"}, {"a\\R\\b", "a~b"},
      {"a\\E\\b", "a\\b"},  {"\\F\\", "|"},     {"\\F\\\\S\\\\E\\", "|^\\"},
      {"plain text", "plain text"},             {"", ""},
  };
  for (const Row& row : rows) {
    INFO(row.raw);
    const Decoded r = decode(row.raw);
    CHECK(r.ok);
    CHECK(r.text == row.expected);
  }
  const Delimiters d = custom();
  const Decoded r = decode("x@F@y@S@z@T@w@R@v@E@u", d);
  CHECK(r.ok);
  CHECK(r.text == "x*y%z!w$v@u");
  // With custom delimiters, a backslash is plain text.
  CHECK(decode("C:\\temp", d).text == "C:\\temp");
  CHECK(decode("C:\\temp", d).ok);
}

TEST_CASE("hex, formatting and highlight escapes", "[hl7v2][escape]") {
  CHECK(decode("A\\X0D0A\\B").text == "A\r\nB");
  CHECK(decode("\\XC3A9\\").text == "\xC3\xA9");
  CHECK(decode("\\Xc3a9\\").text == "\xC3\xA9");
  CHECK(decode("\\X00\\").text == std::string(1, '\0'));
  CHECK(decode("line1\\.br\\line2").text == "line1\nline2");
  CHECK(decode("a\\.sp\\b").text == "a\nb");
  CHECK(decode("a\\.sp2\\b").text == "a\nb");
  CHECK(decode("a\\.ce\\b").text == "a\nb");
  CHECK(decode("a\\.fi\\b\\.nf\\c\\.in+4\\d\\.ti-2\\e\\.sk3\\f").text == "abcdef");
  const Decoded hl = decode("normal \\H\\bold\\N\\ normal");
  CHECK(hl.ok);
  CHECK(hl.text == "normal bold normal");
}

TEST_CASE("character-set and local escapes are kept literally", "[hl7v2][escape]") {
  const Decoded c = decode("\\C2842\\abc\\C2D41\\");
  CHECK(c.ok);
  CHECK(c.text == "\\C2842\\abc\\C2D41\\");
  const Decoded m = decode("\\M2442\\x\\M244F42\\");
  CHECK(m.ok);
  CHECK(m.text == "\\M2442\\x\\M244F42\\");
  const Decoded z = decode("a\\Zlocal1\\b");
  CHECK(z.ok);
  CHECK(z.text == "a\\Zlocal1\\b");
  const Decoded zc = decode("a@Zxx@b", custom());
  CHECK(zc.ok);
  CHECK(zc.text == "a@Zxx@b");
}

TEST_CASE("malformed escapes are appended literally and reported", "[hl7v2][escape]") {
  struct Row {
    const char* raw;
    const char* expected;
  };
  const Row rows[] = {
      {"a\\Q\\b", "a\\Q\\b"},           // unknown
      {"a\\\\b", "a\\\\b"},             // empty sequence
      {"a\\X0\\b", "a\\X0\\b"},         // odd hex
      {"a\\X\\b", "a\\X\\b"},           // no hex
      {"a\\XZZ\\b", "a\\XZZ\\b"},       // not hex
      {"a\\C28\\b", "a\\C28\\b"},       // short charset switch
      {"a\\M24\\b", "a\\M24\\b"},       // short multi-byte switch
      {"a\\.xx\\b", "a\\.xx\\b"},       // unknown formatting command
      {"a\\P\\b", "a\\P\\b"},           // truncation without a truncation char
      {"a\\FF\\b", "a\\FF\\b"},         // too long for a delimiter escape
      {"tail\\F", "tail\\F"},           // unterminated
      {"\\", "\\"},                     // lone escape
      {"ok\\F\\bad\\", "ok|bad\\"},     // good one then unterminated
  };
  for (const Row& row : rows) {
    INFO(row.raw);
    const Decoded r = decode(row.raw);
    CHECK_FALSE(r.ok);
    CHECK(r.text == row.expected);
  }
}

TEST_CASE("truncation character escape", "[hl7v2][escape]") {
  Delimiters d;
  d.truncation = '#';
  const Decoded r = decode("a\\P\\b#c", d);
  CHECK(r.ok);
  CHECK(r.text == "a#b#c");
  std::string out;
  escape_append(out, "x#y", d);
  CHECK(out == "x\\P\\y");
  out.clear();
  escape_append(out, "x#y", Delimiters{});  // no truncation char: '#' is plain text
  CHECK(out == "x#y");
}

TEST_CASE("escape_append encodes delimiters and line breaks", "[hl7v2][escape]") {
  std::string out = "keep:";
  escape_append(out, "a|b^c&d~e\\f", Delimiters{});
  CHECK(out == "keep:a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
  out.clear();
  escape_append(out, "line1\nline2\rx", Delimiters{});
  CHECK(out == "line1\\.br\\line2\\X0D\\x");
  CHECK(unescape(out, Delimiters{}) == "line1\nline2\rx");
  out.clear();
  escape_append(out, "*%$@!|^", custom());
  CHECK(out == "@F@@S@@R@@E@@T@|^");
  out.clear();
  escape_append(out, "", Delimiters{});
  CHECK(out.empty());
}

TEST_CASE("escape then unescape is the identity on random text", "[hl7v2][escape]") {
  std::mt19937 rng(7u);
  const std::string alphabet = "ab |^~\\&#*%$@!\r\n.XFSTRE0";
  Delimiters with_trunc;
  with_trunc.truncation = '#';
  for (const Delimiters& d : {Delimiters{}, custom(), with_trunc}) {
    for (int i = 0; i < 2000; ++i) {
      std::string text(rng() % 24, ' ');
      for (char& c : text) c = alphabet[rng() % alphabet.size()];
      std::string encoded;
      escape_append(encoded, text, d);
      CHECK(encoded.find('\r') == std::string::npos);
      CHECK(encoded.find('\n') == std::string::npos);
      std::string decoded;
      CHECK(unescape_append(decoded, encoded, d));
      CHECK(decoded == text);
    }
  }
}
