// Unit tests for Hl7v2 Message/Segment parsing: delimiters, terminators, field numbering,
// repetitions/components/subcomponents, rejections, copy/move, and a bounded mutation
// test that checks the parser never crashes and never leaks message content into errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "tests/adapters/common/hl7v2/hl7v2_fixtures.h"

using namespace phrgate::hl7v2;
namespace fx = phrgate::hl7v2::fixtures;

namespace {

// `raw` must outlive the returned Message (fixtures and literals do).
Message must_parse(std::string_view raw) {
  ParseError err;
  auto m = Message::parse(raw, &err);
  INFO("parse error: " << err.text << " at " << err.location);
  REQUIRE(m.has_value());
  return *m;
}

ParseError must_fail(std::string_view raw) {
  ParseError err;
  auto m = Message::parse(raw, &err);
  REQUIRE_FALSE(m.has_value());
  return err;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

}  // namespace

TEST_CASE("ADT^A01 header fields and segments", "[hl7v2][parser]") {
  const std::string raw = fx::adt_a01_251();
  const Message m = must_parse(raw);
  const MessageHeader& h = m.header();
  CHECK(h.sending_application == "EPIC^1.2.840.114350^ISO");
  CHECK(h.sending_facility == "NORTHGEN^2.16.840.1.113883.19^ISO");
  CHECK(h.receiving_application == "PHRGATE");
  CHECK(h.receiving_facility == "PHRGATE_FAC");
  CHECK(h.date_time == "20261124221302+0100");
  CHECK(h.message_code == "ADT");
  CHECK(h.trigger_event == "A01");
  CHECK(h.message_structure == "ADT_A01");
  CHECK(h.control_id == "MSG00001");
  CHECK(h.processing_id == "P");
  CHECK(h.version == "2.5.1");
  CHECK(h.accept_ack_type == "AL");
  CHECK(h.application_ack_type == "NE");
  CHECK(h.character_set == "UNICODE UTF-8");

  REQUIRE(m.segments().size() == 6);
  const char* ids[] = {"MSH", "EVN", "PID", "PV1", "NTE", "ZPI"};
  for (std::size_t i = 0; i < 6; ++i) CHECK(m.segments()[i].id() == ids[i]);
  // Zero-copy: every segment view lies inside the caller's buffer.
  for (const Segment& s : m.segments()) {
    CHECK(s.text().data() >= raw.data());
    CHECK(s.text().data() + s.text().size() <= raw.data() + raw.size());
  }
  CHECK(m.raw().data() == raw.data());
}

TEST_CASE("MSH field numbering counts the field separator as MSH-1", "[hl7v2][parser]") {
  const Message m = must_parse(fx::adt_a01_251());
  const Segment& msh = m.segments().front();
  CHECK(msh.field(0) == "MSH");
  CHECK(msh.field(1) == "|");
  CHECK(msh.field(2) == "^~\\&");
  CHECK(msh.field(3) == "EPIC^1.2.840.114350^ISO");
  CHECK(msh.field(9) == "ADT^A01^ADT_A01");
  CHECK(msh.field(10) == "MSG00001");
  CHECK(msh.field(18) == "UNICODE UTF-8~8859/1");
  CHECK(msh.field(19).empty());
  CHECK(msh.field_count() == 18);
  // MSH-1 and MSH-2 are never split by get().
  CHECK(msh.get(2) == "^~\\&");
  CHECK(msh.get(2, 2).empty());
  CHECK(msh.get(1) == "|");
  CHECK(msh.get(3, 2) == "1.2.840.114350");
  CHECK(msh.get(9, 2) == "A01");
  CHECK(msh.get(18, 1, 1, 1) == "8859/1");
}

TEST_CASE("repetitions, components and subcomponents", "[hl7v2][parser]") {
  const Message m = must_parse(fx::adt_a01_251());
  const Segment* pid = m.find("PID");
  REQUIRE(pid != nullptr);
  const Delimiters& d = m.delimiters();
  const std::string_view pid3 = pid->field(3);
  CHECK(repetition_count(pid3, d) == 2);
  CHECK(repetition(pid3, 0, d) == "900123456^^^NLMINBIZA&2.16.840.1.113883.2.4.6.3&ISO^NNNLD");
  CHECK(repetition(pid3, 1, d) == "MRN7781^^^NORTHGEN^MR");
  CHECK(repetition(pid3, 2, d).empty());
  CHECK(component_count(repetition(pid3, 0, d), d) == 5);
  CHECK(pid->get(3) == "900123456");
  CHECK(pid->get(3, 2).empty());
  CHECK(pid->get(3, 4) == "NLMINBIZA");
  CHECK(pid->get(3, 4, 2) == "2.16.840.1.113883.2.4.6.3");
  CHECK(pid->get(3, 4, 3) == "ISO");
  CHECK(pid->get(3, 4, 4).empty());
  CHECK(pid->get(3, 5) == "NNNLD");
  CHECK(pid->get(3, 1, 1, 1) == "MRN7781");
  CHECK(pid->get(3, 5, 1, 1) == "MR");
  CHECK(pid->get(5, 1, 1, 1) == "de Vries");
  CHECK(pid->get(13, 4, 1, 1) == "anna@example.org");
  CHECK(component(pid3, 0, d).empty());
  CHECK(subcomponent("A&B", 0, d).empty());
  // Empty field between separators vs. absent field past the end.
  CHECK(pid->field(2).empty());
  CHECK(pid->field(4).empty());
  CHECK(pid->field(7) == "19840312");
  CHECK(pid->field(14).empty());
  CHECK(pid->field(99).empty());
  CHECK(pid->get(99, 3, 2, 5).empty());
  CHECK(pid->field_count() == 13);
  CHECK(repetition_count("", d) == 0);
  CHECK(component_count("", d) == 0);
  CHECK(component_count("A", d) == 1);
  // A trailing separator still counts as a (empty) field.
  const Segment* zpi = m.find("ZPI");
  REQUIRE(zpi != nullptr);
  CHECK(zpi->field_count() == 3);
  CHECK(zpi->get(2, 2) == "window");
  CHECK(zpi->field(3).empty());
}

TEST_CASE("find and find_all", "[hl7v2][parser]") {
  const Message m = must_parse(fx::oru_r01_23());
  std::vector<const Segment*> obx;
  m.find_all("OBX", obx);
  REQUIRE(obx.size() == 3);
  CHECK(obx[0]->get(3, 2) == "Cholesterol");
  CHECK(obx[2]->field(5) == "Fasting \\F\\ 12h");
  CHECK(m.find("ZZZ") == nullptr);
  CHECK(m.find("OBR")->get(4) == "24331-1");
  CHECK(m.header().message_structure.empty());
  CHECK(m.header().version == "2.3");
}

TEST_CASE("Z-segments and segments without fields are kept", "[hl7v2][parser]") {
  const Message m =
      must_parse("MSH|^~\\&|A|B|C|D|20261124||ADT^A01|1|P|2.5\rZPI|custom|x^y\rZ01\rPID|1\r");
  REQUIRE(m.segments().size() == 4);
  CHECK(m.segments()[1].id() == "ZPI");
  CHECK(m.segments()[1].get(2, 2) == "y");
  CHECK(m.segments()[2].id() == "Z01");
  CHECK(m.segments()[2].field_count() == 0);
  CHECK(m.segments()[2].field(1).empty());
}

TEST_CASE("non-standard delimiters from MSH-1/MSH-2", "[hl7v2][parser]") {
  const Message m = must_parse(fx::adt_custom_delims());
  const Delimiters& d = m.delimiters();
  CHECK(d.field == '*');
  CHECK(d.component == '%');
  CHECK(d.repetition == '$');
  CHECK(d.escape == '@');
  CHECK(d.subcomponent == '!');
  CHECK(d.truncation == 0);
  CHECK(m.header().sending_application == "HIS%ACME");
  CHECK(m.header().trigger_event == "A04");
  CHECK(m.header().control_id == "C123");
  CHECK(m.header().version == "2.4");
  const Segment* pid = m.find("PID");
  REQUIRE(pid != nullptr);
  CHECK(pid->get(3) == "77");
  CHECK(pid->get(3, 4, 2) == "1.2.3");
  CHECK(pid->get(3, 1, 1, 1) == "88");
  CHECK(pid->get(5, 2) == "Anna");
  CHECK(m.segments().front().field(2) == "%$@!");
  // '|' and '^' are plain data here.
  const Segment* nte = m.find("NTE");
  REQUIRE(nte != nullptr);
  CHECK(unescape(nte->field(3), d) == "Pipe | caret ^ text * end");
}

TEST_CASE("v2.7 truncation character", "[hl7v2][parser]") {
  const Message m = must_parse(fx::adt_a08_27_truncation());
  CHECK(m.delimiters().truncation == '#');
  CHECK(m.delimiters().subcomponent == '&');
  CHECK(m.segments().front().field(2) == "^~\\&#");
  CHECK(m.header().sending_application == "HIS");
  CHECK(m.find("PID")->get(5) == "ZEBRAPHI#");
  CHECK(unescape(m.find("NTE")->field(3), m.delimiters()) == "Hash # sign");
}

TEST_CASE("CR, LF, CRLF and mixed terminators; blank lines ignored", "[hl7v2][parser]") {
  const std::string cr = fx::oru_r01_23();
  const std::string variants[] = {
      cr,
      replace_all(cr, "\r", "\n"),
      replace_all(cr, "\r", "\r\n"),
      replace_all(replace_all(cr, "\rOBX|2", "\nOBX|2"), "\rOBR", "\r\nOBR"),
      cr + "\r\n\r\n\n",
      cr.substr(0, cr.size() - 1),  // no final terminator
      "\r\n" + cr,                  // leading blank line
      replace_all(cr, "\rOBX|3", "\r\r\n\nOBX|3"),
  };
  for (const std::string& raw : variants) {
    const Message m = must_parse(raw);
    REQUIRE(m.segments().size() == 6);
    CHECK(m.segments()[5].text() == "OBX|3|ST|8251-1^Comment^LN||Fasting \\F\\ 12h|||||F");
    CHECK(m.segments()[0].field(12) == "2.3");
    for (const Segment& s : m.segments()) {
      CHECK(s.text().find('\r') == std::string_view::npos);
      CHECK(s.text().find('\n') == std::string_view::npos);
    }
  }
}

TEST_CASE("copy and move keep segments bound to their own delimiters", "[hl7v2][parser]") {
  const std::string raw = fx::adt_custom_delims();
  auto original = std::make_unique<Message>(must_parse(raw));
  Message copy(*original);
  Message assigned = must_parse(fx::adt_a01_251());
  assigned = *original;
  Message moved(std::move(*original));
  original.reset();  // the source object is gone; its Delimiters with it
  Message move_assigned = must_parse(fx::oru_r01_23());
  move_assigned = std::move(moved);
  for (const Message* m : {&copy, &assigned, &move_assigned}) {
    REQUIRE(m->segments().size() == 3);
    for (const Segment& s : m->segments()) CHECK(&s.delimiters() == &m->delimiters());
    CHECK(m->find("PID")->get(3, 4, 2) == "1.2.3");
    CHECK(m->header().control_id == "C123");
  }
}

TEST_CASE("rejections carry a code, a location and no message content", "[hl7v2][parser]") {
  struct Case {
    std::string raw;
    ErrorCode code;
    std::string location;
  };
  const std::string tail = "|ZEBRAPHI|B|C|D|20261124||ADT^A01|1|P|2.5\rPID|1||ZEBRAPHI\r";
  const std::vector<Case> cases = {
      {"", ErrorCode::SegmentSequence, ""},
      {"\r\n\r\n", ErrorCode::SegmentSequence, ""},
      {"PID|1||ZEBRAPHI\rMSH|^~\\&|A\r", ErrorCode::SegmentSequence, "MSH"},
      {"ZEBRAPHI", ErrorCode::SegmentSequence, "MSH"},
      {"MSH", ErrorCode::RequiredFieldMissing, "MSH-1"},
      {"MSH\rPID|ZEBRAPHI", ErrorCode::RequiredFieldMissing, "MSH-1"},
      {"MSH|^~\\", ErrorCode::RequiredFieldMissing, "MSH-2"},
      {"MSH|^~\\\r&|ZEBRAPHI", ErrorCode::RequiredFieldMissing, "MSH-2"},
      {"MSHA^~\\&AZEBRAPHI", ErrorCode::DataType, "MSH-1"},
      {"MSH ^~\\& ZEBRAPHI", ErrorCode::DataType, "MSH-1"},
      {"MSH|^~\\" + tail, ErrorCode::DataType, "MSH-2"},        // fewer than 4
      {"MSH|^|\\&" + tail, ErrorCode::DataType, "MSH-2"},       // field separator inside
      {"MSH|^~\\&#!" + tail, ErrorCode::DataType, "MSH-2"},     // more than 5
      {"MSH|^^\\&" + tail, ErrorCode::DataType, "MSH-2"},       // duplicated
      {"MSH|^~\\A" + tail, ErrorCode::DataType, "MSH-2"},       // alphanumeric
      {"MSH|^~ &" + tail, ErrorCode::DataType, "MSH-2"},        // space
      {"MSH|^~\\&\x01" + tail, ErrorCode::DataType, "MSH-2"},   // control character
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rpid|1||ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rPI|1||ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rPIDX|1||ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rPID^1||ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\r PID|ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rP\xC3\x89" "D|ZEBRAPHI\r", ErrorCode::SegmentSequence, ""},
      {"MSH|^~\\&|ZEBRAPHI|B|C|D|2026|||1|P|2.5\r", ErrorCode::RequiredFieldMissing, "MSH-9"},
      {"MSH|^~\\&|ZEBRAPHI|B|C|D|2026||^A01|1|P|2.5\r", ErrorCode::RequiredFieldMissing, "MSH-9"},
      {"MSH|^~\\&|ZEBRAPHI|B|C|D|2026||ADT^A01||P|2.5\r", ErrorCode::RequiredFieldMissing, "MSH-10"},
      {"MSH|^~\\&|ZEBRAPHI|B|C|D|2026||ADT^A01|1|P\r", ErrorCode::RequiredFieldMissing, "MSH-12"},
      {"MSH|^~\\&|ZEBRAPHI|B|C|D|2026||ADT^A01|1|P|\r", ErrorCode::RequiredFieldMissing, "MSH-12"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    const ParseError err = must_fail(cases[i].raw);
    CHECK(err.code == cases[i].code);
    CHECK(err.location == cases[i].location);
    CHECK_FALSE(err.text.empty());
    CHECK(err.text.find(fx::kPhiMarker) == std::string::npos);
  }
  // Segment index points at the offending segment.
  const ParseError bad_id =
      must_fail("MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\rPID|1\rEVN|x\rbad|1\r");
  CHECK(bad_id.segment_index == 3);
  CHECK(must_fail("MSH|^~\\&|A|B|C|D|2026||ADT^A01||P|2.5").segment_index == 0);
  CHECK(must_fail("").segment_index == -1);
  // A null error pointer is allowed.
  CHECK_FALSE(Message::parse("garbage", nullptr).has_value());
}

TEST_CASE("read_delimiters accepts the minimal MSH", "[hl7v2][parser]") {
  Delimiters d;
  CHECK(read_delimiters("MSH|^~\\&", d, nullptr));
  CHECK(d.escape == '\\');
  CHECK(read_delimiters("MSH*%$@!*", d, nullptr));
  CHECK(d.field == '*');
  CHECK(d.subcomponent == '!');
  CHECK(read_delimiters("MSH|^~\\&#|", d, nullptr));
  CHECK(d.truncation == '#');
  CHECK_FALSE(read_delimiters("MSH|^~\\", d, nullptr));
}

namespace {

// Touches fields, repetitions, components and subcomponents the way the converter would
// (bounded per segment: on-demand lookup is linear per call, so walking 200k fields of
// one hostile segment would be quadratic by design).
constexpr std::size_t kWalkLimit = 40;

std::size_t walk(const Message& m) {
  std::size_t touched = 0;
  std::string scratch;
  const Delimiters& d = m.delimiters();
  for (const Segment& s : m.segments()) {
    const std::size_t fields = std::min(s.field_count(), kWalkLimit);
    for (std::size_t f = 0; f <= fields + 1; ++f) {
      const std::string_view field = s.field(f);
      const std::size_t reps = std::min(repetition_count(field, d), kWalkLimit);
      for (std::size_t r = 0; r <= reps; ++r) {
        const std::string_view rep = repetition(field, r, d);
        const std::size_t comps = std::min(component_count(rep, d), kWalkLimit);
        for (std::size_t c = 1; c <= comps + 1; ++c) {
          const std::string_view comp = component(rep, c, d);
          for (std::size_t sc = 1; sc <= 3; ++sc) {
            const std::string_view sub = subcomponent(comp, sc, d);
            scratch.clear();
            unescape_append(scratch, sub, d);
            touched += sub.size() + scratch.size();
          }
          touched += s.get(f, c, 1, r).size();
        }
      }
    }
  }
  return touched;
}

// Returns whether `raw` parsed.
bool exercise(const std::string& raw) {
  ParseError err;
  const auto m = Message::parse(raw, &err);
  AckOptions opts;
  opts.ack_control_id = "ACK1";
  opts.timestamp = "20261124221400+0000";
  if (m) {
    CHECK(walk(*m) < raw.size() * 1000 + 1000);
    const std::string ack = build_ack(*m, AckCode::AE, opts, ErrorCode::DataType, "bad value");
    CHECK(ack.compare(0, 3, "MSH") == 0);
    CHECK(std::count(ack.begin(), ack.end(), '\r') == 3);
  } else {
    if (err.text.find(fx::kPhiMarker) != std::string::npos ||
        err.location.find(fx::kPhiMarker) != std::string::npos) {
      FAIL("error text leaks message content");
    }
    const std::string nak = build_reject_for_unparseable(raw, err, opts);
    CHECK(nak.compare(0, 9, "MSH|^~\\&|") == 0);
    CHECK(std::count(nak.begin(), nak.end(), '\r') == 3);
    CHECK(nak.find('\n') == std::string::npos);
    CHECK(nak.back() == '\r');
  }
  return m.has_value();
}

}  // namespace

TEST_CASE("every prefix of valid messages parses or fails cleanly", "[hl7v2][parser][fuzz]") {
  for (const std::string& full : {fx::adt_a01_251(), fx::oru_r01_23(), fx::adt_custom_delims(),
                                  fx::adt_a08_27_truncation()}) {
    for (std::size_t n = 0; n <= full.size(); ++n) exercise(full.substr(0, n));
  }
}

TEST_CASE("random byte mutations never crash or leak", "[hl7v2][parser][fuzz]") {
  const std::vector<std::string> seeds = {fx::adt_a01_251(), fx::oru_r01_23(),
                                          fx::adt_custom_delims(), fx::adt_a08_27_truncation()};
  const char interesting[] = {'|', '^', '~', '\\', '&', '#', '\r', '\n', '\0', 'M', 'S', 'H',
                              '*', '%', '$', '@', '!', '.', 'X', '\xff'};
  std::mt19937 rng(20261124u);
  constexpr int kIterations = 20000;
  int parsed = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string s = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t pos = rng() % s.size();
      const char byte = (rng() % 2 == 0) ? interesting[rng() % sizeof interesting]
                                         : static_cast<char>(rng() % 256);
      switch (rng() % 4) {
        case 0: s[pos] = byte; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), byte); break;
        case 2: s.erase(pos, 1 + rng() % 8); break;
        default: s.resize(pos); break;
      }
    }
    parsed += exercise(s) ? 1 : 0;
  }
  // Both the accept and the reject path must have been exercised substantially.
  CHECK(parsed > kIterations / 10);
  CHECK(parsed < kIterations - kIterations / 10);
}

TEST_CASE("hostile shapes stay linear and bounded", "[hl7v2][parser][fuzz]") {
  const std::string msh = "MSH|^~\\&|A|B|C|D|2026||ADT^A01|1|P|2.5\r";
  exercise(msh + std::string(200000, '\r'));
  exercise(msh + "NTE|" + std::string(200000, '|'));
  exercise(msh + "NTE|" + std::string(200000, '\\'));
  exercise(msh + "NTE|" + std::string(200000, '^'));
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "OBX|1\r";
  const std::string big = msh + many;
  const Message m = must_parse(big);
  CHECK(m.segments().size() == 20001);
}
