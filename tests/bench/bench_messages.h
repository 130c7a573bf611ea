// Synthetic but realistic HL7 v2 messages for the benchmarks (ADT^A01, ORU^R01 with N OBX,
// VXU^V04, MDM^T02, RDE^O11).
// Written for phrgate; no patient is real.
#pragma once

#include <cstdio>
#include <string>

namespace phrgate::bench {

// A distinct synthetic person per message number (family name and birth date vary), so the
// person index sees n different people, as a real feed of n patients would be.
inline std::string person_pid(int n) {
  std::string family = "Lind";
  for (int k = n; k > 0; k /= 26) family.push_back(static_cast<char>('a' + k % 26));
  char dob[16];
  std::snprintf(dob, sizeof dob, "%04d%02d%02d", 1930 + n % 80, 1 + n % 12, 1 + n % 28);
  return family + "^Sofia^M||" + dob;
}


inline std::string adt_a01(int n) {
  std::string id = std::to_string(n);
  return "MSH|^~\\&|BENCH_EMR|BENCH_HOSP|PHRGATE|PHR|20261124081502-0500||ADT^A01^ADT_A01|ADT-" + id +
         "|P|2.5.1\r"
         "EVN|A01|20261124081500-0500\r"
         "PID|1||MRN" + id + "^^^BENCH_HOSP^MR~999-88-" + std::to_string(1000 + n % 9000) +
         "^^^USSSA^SS||" + person_pid(n) + "|F|||12 Harbor Lane^Unit 3^Portland^ME^04101^USA^H||"
         "^PRN^PH^^1^207^5550182~^NET^Internet^s.lindgren@example.org|^WPN^PH^^1^207^5550100|en^English^ISO639|"
         "M^Married^HL70002\r"
         "PV1|1|I|3EAST^301^A^BENCH_HOSP||||4411^Moreau^Claire^^^Dr.^MD|||MED||||7|||4411^Moreau^Claire^^^Dr.^MD|"
         "IP|V" + id + "^^^BENCH_HOSP^VN|||||||||||||||||||||||||20261124081500-0500\r";
}

inline std::string oru_r01(int n, int obx_count) {
  static const char* codes[][3] = {
      {"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL"},
      {"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL"},
      {"777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL"},
      {"2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL"},
      {"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L"},
  };
  std::string id = std::to_string(n);
  std::string m = "MSH|^~\\&|BENCH_LIS|BENCH_HOSP|PHRGATE|PHR|20261124113010-0500||ORU^R01^ORU_R01|ORU-" + id +
                  "|P|2.5.1\r"
                  "PID|1||MRN" + id + "^^^BENCH_HOSP^MR||" + person_pid(n) + "|F\r"
                  "PV1|1|I|3EAST^301^A^BENCH_HOSP||||||||||||||||V" + id + "^^^BENCH_HOSP^VN\r"
                  "ORC|RE|ORD" + id + "|LAB" + id + "\r"
                  "OBR|1|ORD" + id + "|LAB" + id + "|58410-2^CBC panel - Blood by Automated count^LN|||"
                  "20261124094500-0500|||||||||4411^Moreau^Claire||||||20261124112900-0500|||F\r";
  for (int i = 0; i < obx_count; ++i) {
    const auto* c = codes[i % 5];
    m += "OBX|" + std::to_string(i + 1) + "|NM|" + c[0] + "^" + c[1] + "^LN|" + std::to_string(i / 5 + 1) + "|" +
         std::to_string(5 + i % 7) + "." + std::to_string(i % 10) + "|" + c[2] + "^" + c[2] + "^UCUM|3.5-10.5|" +
         (i % 3 == 0 ? "H" : "N") + "|||F|||20261124094500-0500\r";
  }
  return m;
}

inline std::string vxu_v04(int n) {
  std::string id = std::to_string(n);
  return "MSH|^~\\&|BENCH_IIS|BENCH_HOSP|PHRGATE|PHR|20261124101500-0500||VXU^V04^VXU_V04|VXU-" + id +
         "|P|2.5.1|||ER|AL\r"
         "PID|1||MRN" + id + "^^^BENCH_HOSP^MR||" + person_pid(n) + "|F\r"
         "ORC|RE||IZ" + id + "^BENCH_HOSP\r"
         "RXA|0|1|20261120101500-0500||208^COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose^CVX|0.3|mL^mL^UCUM||"
         "00^New immunization record^NIP001|||||||LOT" + id + "|20270101|PFR^Pfizer, Inc^MVX|||CP|A\r"
         "RXR|C28161^Intramuscular^NCIT|LD^Left Arm^HL70163\r"
         "OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V01^Not VFC eligible^HL70064||||||F\r";
}

inline std::string mdm_t02(int n) {
  std::string id = std::to_string(n);
  return "MSH|^~\\&|BENCH_DOC|BENCH_HOSP|PHRGATE|PHR|20261124101500-0500||MDM^T02^MDM_T02|MDM-" + id +
         "|P|2.5.1\r"
         "EVN|T02|20261124101500-0500\r"
         "PID|1||MRN" + id + "^^^BENCH_HOSP^MR||" + person_pid(n) + "|F\r"
         "PV1|1|O|CLINIC^1^1\r"
         "TXA|1|DS^Discharge summary|TX|20261124100000-0500|4411^Moreau^Claire||||||DOC" + id +
         "^BENCH_HOSP||||||AU||AV\r"
         "OBX|1|TX|18842-5^Discharge summary^LN||Patient admitted for observation and discharged in good condition.||||||F\r"
         "OBX|2|TX|18842-5^Discharge summary^LN||Follow up with primary care in two weeks.||||||F\r";
}

inline std::string rde_o11(int n) {
  std::string id = std::to_string(n);
  return "MSH|^~\\&|BENCH_PHARM|BENCH_HOSP|PHRGATE|PHR|20261124101500-0500||RDE^O11^RDE_O11|RDE-" + id +
         "|P|2.5.1\r"
         "PID|1||MRN" + id + "^^^BENCH_HOSP^MR||" + person_pid(n) + "|F\r"
         "ORC|NW|RX" + id + "^BENCH_HOSP|||||||20261124100000-0500|||4411^Moreau^Claire\r"
         "RXE|1^BID^HL70335|197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg^mg^UCUM|TAB^Tablet^HL70292|||30\r"
         "RXR|PO^Oral^HL70162\r";
}

}  // namespace phrgate::bench
