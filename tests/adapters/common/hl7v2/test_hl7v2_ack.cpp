// Unit tests for the HL7 v2 ACK builder: exact ACK text for AA/AE/AR (and CA/CE) in
// v2.3, v2.4 and v2.5.1 layouts, custom delimiters, truncation, error locations, and the
// NAK for unparseable input (salvaged header fields or none).
#include <catch2/catch.hpp>

#include <string>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "tests/adapters/common/hl7v2/hl7v2_fixtures.h"

using namespace phrgate::hl7v2;
namespace fx = phrgate::hl7v2::fixtures;

namespace {

AckOptions options(std::string_view control_id) {
  AckOptions o;
  o.ack_control_id = control_id;
  o.timestamp = "20261124221400+0000";
  return o;
}

// `raw` must outlive the returned Message.
Message parsed(std::string_view raw) {
  ParseError err;
  auto m = Message::parse(raw, &err);
  REQUIRE(m.has_value());
  return *m;
}

ParseError parse_error(const std::string& raw) {
  ParseError err;
  REQUIRE_FALSE(Message::parse(raw, &err).has_value());
  return err;
}

const std::string kAdtMsh =
    "MSH|^~\\&|PHRGATE|PHRGATE_FAC|EPIC^1.2.840.114350^ISO|NORTHGEN^2.16.840.1.113883.19^ISO"
    "|20261124221400+0000||ACK^A01^ACK|ACK0001|P|2.5.1\r";
const std::string kOruMsh =
    "MSH|^~\\&|PHRGATE|PHRGATE_FAC|LABSYS|NORTHGEN_LAB|20261124221400+0000||ACK^R01^ACK|ACK0002|P|2.3\r";

}  // namespace

TEST_CASE("AA for v2.5.1 swaps sender and receiver and echoes the control id", "[hl7v2][ack]") {
  const std::string raw = fx::adt_a01_251();
  const Message m = parsed(raw);
  CHECK(build_ack(m, AckCode::AA, options("ACK0001")) == kAdtMsh + "MSA|AA|MSG00001\r");
  // Error arguments are ignored on AA.
  CHECK(build_ack(m, AckCode::AA, options("ACK0001"), ErrorCode::DataType, "ignored", "PID-3") ==
        kAdtMsh + "MSA|AA|MSG00001\r");
}

TEST_CASE("AE/AR for v2.5.1 use ERR-2..4", "[hl7v2][ack]") {
  const Message m = parsed(fx::adt_a01_251());
  CHECK(build_ack(m, AckCode::AE, options("ACK0001"), ErrorCode::RequiredFieldMissing,
                  "patient identifier missing", "PID-3") ==
        kAdtMsh + "MSA|AE|MSG00001\rERR||PID^1^3|101^patient identifier missing^HL70357|E\r");
  CHECK(build_ack(m, AckCode::AR, options("ACK0001"), ErrorCode::ApplicationInternalError,
                  "store a|b^c unavailable") ==
        kAdtMsh +
            "MSA|AR|MSG00001\rERR|||207^store a\\F\\b\\S\\c unavailable^HL70357|E\r");
  // No text: the table 0357 description is used.
  CHECK(build_ack(m, AckCode::AE, options("ACK0001"), ErrorCode::RequiredFieldMissing) ==
        kAdtMsh + "MSA|AE|MSG00001\rERR|||101^Required field missing^HL70357|E\r");
}

TEST_CASE("error location forms", "[hl7v2][ack]") {
  const Message m = parsed(fx::adt_a01_251());
  const auto err_of = [&](std::string_view loc) {
    const std::string ack =
        build_ack(m, AckCode::AE, options("A"), ErrorCode::DataType, "x", loc);
    const std::size_t p = ack.find("ERR|");
    return ack.substr(p);
  };
  CHECK(err_of("PID-3.1") == "ERR||PID^1^3^1^1|102^x^HL70357|E\r");
  CHECK(err_of("OBX-5.1.2") == "ERR||OBX^1^5^1^1^2|102^x^HL70357|E\r");
  CHECK(err_of("PID^2^3") == "ERR||PID^2^3|102^x^HL70357|E\r");
  CHECK(err_of("MSH") == "ERR||MSH|102^x^HL70357|E\r");
  CHECK(err_of("pid 3") == "ERR|||102^x^HL70357|E\r");
  CHECK(err_of("PID-") == "ERR|||102^x^HL70357|E\r");
  CHECK(err_of("PID-3x") == "ERR|||102^x^HL70357|E\r");
  CHECK(err_of("PID^a|b") == "ERR|||102^x^HL70357|E\r");
}

TEST_CASE("AA/AE/AR for v2.3 put the error in ERR-1", "[hl7v2][ack]") {
  const Message m = parsed(fx::oru_r01_23());
  CHECK(build_ack(m, AckCode::AA, options("ACK0002")) == kOruMsh + "MSA|AA|LAB556677\r");
  CHECK(build_ack(m, AckCode::AE, options("ACK0002"), ErrorCode::DataType, "value not numeric",
                  "OBX-5") ==
        kOruMsh + "MSA|AE|LAB556677\rERR|OBX^1^5^102&value not numeric&HL70357\r");
  CHECK(build_ack(m, AckCode::AR, options("ACK0002"), ErrorCode::ApplicationInternalError,
                  "queue a&b full") ==
        kOruMsh + "MSA|AR|LAB556677\rERR|^^^207&queue a\\T\\b full&HL70357\r");
  CHECK(build_ack(m, AckCode::AE, options("ACK0002"), ErrorCode::DataType, "x", "OBX-5.2") ==
        kOruMsh + "MSA|AE|LAB556677\rERR|OBX^1^5^102&x&HL70357\r");
}

TEST_CASE("ACK uses the original message's custom delimiters", "[hl7v2][ack]") {
  const Message m = parsed(fx::adt_custom_delims());
  CHECK(build_ack(m, AckCode::AE, options("ACK3"), ErrorCode::UnknownKeyIdentifier,
                  "unknown*id", "PID-3") ==
        "MSH*%$@!*PHRGATE*PHRGATE_FAC*HIS%ACME*CLINIC*20261124221400+0000**ACK%A04%ACK*ACK3*P*2.4\r"
        "MSA*AE*C123\r"
        "ERR*PID%1%3%204!unknown@F@id!HL70357\r");
}

TEST_CASE("commit acknowledgements and the truncation character", "[hl7v2][ack]") {
  const Message m = parsed(fx::adt_a08_27_truncation());
  const std::string msh =
      "MSH|^~\\&#|PHRGATE|PHRGATE_FAC|HIS|CLINIC|20261124221400+0000||ACK^A08^ACK|ACK4|T|2.7\r";
  CHECK(build_ack(m, AckCode::CA, options("ACK4")) == msh + "MSA|CA|T27001\r");
  CHECK(build_ack(m, AckCode::CE, options("ACK4"), ErrorCode::ApplicationInternalError,
                  "disk #2 full") ==
        msh + "MSA|CE|T27001\rERR|||207^disk \\P\\2 full^HL70357|E\r");
  CHECK(build_ack(m, AckCode::CR, options("ACK4"), ErrorCode::UnsupportedVersionId, "", "MSH-12") ==
        msh + "MSA|CR|T27001\rERR||MSH^1^12|203^Unsupported version id^HL70357|E\r");
  CHECK(to_string(AckCode::CR) == "CR");
  CHECK(to_string(AckCode::AA) == "AA");
}

TEST_CASE("reject for input that is not HL7 at all", "[hl7v2][ack]") {
  const ParseError err{ErrorCode::SegmentSequence, "not an HL7 message", -1, ""};
  const std::string expected =
      "MSH|^~\\&|||||20261124221400+0000||ACK^^ACK|ACK9|P|2.5.1\rMSA|AR|\r"
      "ERR|||100^not an HL7 message^HL70357|E\r";
  CHECK(build_reject_for_unparseable("hello ZEBRAPHI", err, options("ACK9")) == expected);
  CHECK(build_reject_for_unparseable("", err, options("ACK9")) == expected);
  // Bad encoding characters: nothing is salvaged even though MSH-3.. look readable.
  const std::string bad_enc = "MSH|^^\\&|APP|FAC|PHRGATE|PHRGATE_FAC|2026||ADT^A01|C1|P|2.5\r";
  const ParseError enc_err = parse_error(bad_enc);
  CHECK(build_reject_for_unparseable(bad_enc, enc_err, options("ACK9")) ==
        "MSH|^~\\&|||||20261124221400+0000||ACK^^ACK|ACK9|P|2.5.1\rMSA|AR|\r"
        "ERR||MSH^1^2|102^MSH encoding characters are repeated^HL70357|E\r");
  AckOptions old = options("ACK9");
  old.fallback_version = "2.3";
  CHECK(build_reject_for_unparseable("junk", err, old) ==
        "MSH|^~\\&|||||20261124221400+0000||ACK^^ACK|ACK9|P|2.3\rMSA|AR|\r"
        "ERR|^^^100&not an HL7 message&HL70357\r");
}

TEST_CASE("reject salvages routing fields from a readable MSH", "[hl7v2][ack]") {
  const std::string no_version =
      "MSH|^~\\&|APP^1.2^ISO|FAC|PHRGATE|PHRGATE_FAC|2026||ADT^A01|CTRL9|P\rPID|1||ZEBRAPHI\r";
  CHECK(build_reject_for_unparseable(no_version, parse_error(no_version), options("ACK9")) ==
        "MSH|^~\\&|PHRGATE|PHRGATE_FAC|APP^1.2^ISO|FAC|20261124221400+0000||ACK^A01^ACK|ACK9|P|2.5.1\r"
        "MSA|AR|CTRL9\r"
        "ERR||MSH^1^12|101^MSH-12 version id is missing^HL70357|E\r");

  // Custom delimiters are re-encoded into the default ones; '^' that was data is escaped.
  const std::string custom =
      "MSH*%$@!*HIS^X%ACME*CLINIC*PHRGATE*PHRGATE_FAC*2026**ADT%A04*C123*T*2.4\rbad*ZEBRAPHI\r";
  const ParseError err = parse_error(custom);
  CHECK(err.text.find(fx::kPhiMarker) == std::string::npos);
  CHECK(build_reject_for_unparseable(custom, err, options("ACK9")) ==
        "MSH|^~\\&|PHRGATE|PHRGATE_FAC|HIS\\S\\X^ACME|CLINIC|20261124221400+0000||ACK^A04^ACK|ACK9|T|2.4\r"
        "MSA|AR|C123\r"
        "ERR|^^^100&segment id is not 3 upper-case letters or digits&HL70357\r");

  // Overlong header values are dropped rather than echoed.
  const std::string long_app = "MSH|^~\\&|" + std::string(300, 'A') +
                               "|FAC|R|RF|2026||ADT^A01||P|2.5.1\r";
  CHECK(build_reject_for_unparseable(long_app, parse_error(long_app), options("ACK9")) ==
        "MSH|^~\\&|R|RF||FAC|20261124221400+0000||ACK^A01^ACK|ACK9|P|2.5.1\rMSA|AR|\r"
        "ERR||MSH^1^10|101^MSH-10 message control id is missing^HL70357|E\r");
}
