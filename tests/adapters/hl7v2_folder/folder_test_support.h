// Helpers for the hl7v2_folder tests: HL7 v2 message builders (synthetic patients only),
// file writing that mimics an EMR (write a temp name, then rename), and bounded waiting.
// Header-only; test code only.
#pragma once

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace phrgate::testing::folder_source {

inline std::string cr(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = '\r';
  return s;
}

// Each MRN is its own patient: the birth date (a January 15th, so no day/month swap) takes
// its year from the MRN's trailing number, so the person index never sees two MRNs of one
// hospital with the same name and birth date (which it holds for an operator).
inline std::string birth_date_of(const std::string& mrn) {
  std::size_t digits = mrn.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(mrn[digits - 1]))) --digits;
  const unsigned long n = digits < mrn.size() ? std::stoul(mrn.substr(digits, 6)) : 0;
  return std::to_string(1920 + n % 80) + "0115";
}

inline std::string adt(const std::string& control_id, const std::string& mrn, const std::string& type = "ADT^A01") {
  return cr("MSH|^~\\&|EMR|FOLDER_HOSP|PHRGATE|PHR|20261124101500-0500||" + type + "|" + control_id + "|P|2.5.1\n"
            "EVN|A01|20261124101500-0500\n"
            "PID|1||" + mrn + "^^^FOLDER_HOSP^MR||Filetest^Dora||" + birth_date_of(mrn) + "|F\n"
            "PV1|1|I|W^101^1\n");
}

inline std::string oru(const std::string& control_id, const std::string& mrn) {
  return cr("MSH|^~\\&|LAB|FOLDER_HOSP|PHRGATE|PHR|20261124101500-0500||ORU^R01^ORU_R01|" + control_id + "|P|2.5.1\n"
            "PID|1||" + mrn + "^^^FOLDER_HOSP^MR||Filetest^Dora||" + birth_date_of(mrn) + "|F\n"
            "OBR|1|P-" + control_id + "|F-" + control_id + "|2345-7^Glucose^LN|||20261124090000-0500\n"
            "OBX|1|NM|2345-7^Glucose^LN||101|mg/dL^mg/dL^UCUM|70-99|H|||F\n");
}

// Writes `content` the way a careful EMR does: to "<name>.tmp", then renamed into place.
inline void drop_file(const std::string& dir, const std::string& name, const std::string& content) {
  std::filesystem::create_directories(dir);
  std::string tmp = dir + "/" + name + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, dir + "/" + name);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool exists(const std::string& path) { return std::filesystem::exists(path); }

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace phrgate::testing::folder_source
