// Hand-written HL7 v2 test messages for the adapters/common/hl7v2 unit tests.
// All people, ids and facilities are invented. Each returns a static string, so Message
// views into it stay valid for the whole test run. kPhiMarker is planted in patient fields so
// tests can check that no error text or log-bound string ever carries message content.
#pragma once

#include <string>

namespace phrgate::hl7v2::fixtures {

inline constexpr const char* kPhiMarker = "ZEBRAPHI";

// ADT^A01 v2.5.1: two PID-3 repetitions, HD subcomponents, empty and absent fields,
// a Z-segment, escapes in PID-5 and NTE.
inline const std::string& adt_a01_251() {
  static const std::string text =
      "MSH|^~\\&|EPIC^1.2.840.114350^ISO|NORTHGEN^2.16.840.1.113883.19^ISO|PHRGATE|PHRGATE_FAC"
        "|20261124221302+0100||ADT^A01^ADT_A01|MSG00001|P|2.5.1|||AL|NE|NLD|UNICODE UTF-8~8859/1\r"
        "EVN|A01|20261124221300+0100|||OP123^Jansen^Piet\r"
        "PID|1||900123456^^^NLMINBIZA&2.16.840.1.113883.2.4.6.3&ISO^NNNLD~MRN7781^^^NORTHGEN^MR"
        "||ZEBRAPHI^Anna^Maria^^^^L~de Vries^Anna^^^^^M||19840312|F|||Dorpsstraat 12^^Utrecht^^3511AB^NLD"
        "||030-1234567^PRN^PH~^NET^Internet^anna@example.org\r"
        "PV1|1|I|CARD^201^B^NORTHGEN||||1234^Smit^Jan^^^Dr.|||CAR||||1|||1234^Smit^Jan^^^Dr.|IN||||||||||||||||||||||||||20261124220000+0100\r"
        "NTE|1||Allergic to penicillin\\.br\\Uses \\T\\ wheelchair\r"
        "ZPI|1|ROOM-PREF^window|\r";
  return text;
}

// ORU^R01 v2.3 with three OBX segments and an escaped field separator in OBX-5.
inline const std::string& oru_r01_23() {
  static const std::string text =
      "MSH|^~\\&|LABSYS|NORTHGEN_LAB|PHRGATE|PHRGATE_FAC|202611240815||ORU^R01|LAB556677|P|2.3\r"
        "PID|1||MRN7781^^^NORTHGEN^MR||ZEBRAPHI^Anna||19840312|F\r"
        "OBR|1|ORD1001|LAB556677|24331-1^Lipid panel^LN|||202611240700\r"
        "OBX|1|NM|2093-3^Cholesterol^LN||5.2|mmol/L|<5.0|H|||F\r"
        "OBX|2|NM|2571-8^Triglyceride^LN||1.4|mmol/L|<2.0|N|||F\r"
        "OBX|3|ST|8251-1^Comment^LN||Fasting \\F\\ 12h|||||F\r";
  return text;
}

// Same content as a small ADT but with non-standard delimiters: field '*', component '%',
// repetition '$', escape '@', subcomponent '!'.
inline const std::string& adt_custom_delims() {
  static const std::string text =
      "MSH*%$@!*HIS%ACME*CLINIC*PHRGATE*PHRGATE_FAC*20261124221302+0100**ADT%A04%ADT_A01*C123*P*2.4\r"
        "PID*1**77%%%AUTH!1.2.3!ISO%MR$88%%%AUTH2**ZEBRAPHI%Anna**19840312*F\r"
        "NTE*1**Pipe | caret ^ text @F@ end\r";
  return text;
}

// v2.7 message with the truncation character in MSH-2.
inline const std::string& adt_a08_27_truncation() {
  static const std::string text =
      "MSH|^~\\&#|HIS|CLINIC|PHRGATE|PHRGATE_FAC|20261124221302+0100||ADT^A08^ADT_A01|T27001|T|2.7\r"
        "PID|1||MRN1^^^CLINIC^MR||ZEBRAPHI#^Anna||19840312|F\r"
        "NTE|1||Hash \\P\\ sign\r";
  return text;
}

}  // namespace phrgate::hl7v2::fixtures
