// Helpers shared by the end-to-end tests: MLLP/HTTP calls against a running daemon and
// small HL7 message builders. Header-only; used only by tests/e2e.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "tests/support/http_client.h"

namespace phrgate::testing {

inline std::string to_cr(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = '\r';
  return s;
}

inline rapidjson::Document get_json(uint16_t port, const std::string& target, const std::string& token,
                                    int expect_status = 200) {
  auto r = http_request("127.0.0.1", port, "GET", target, {}, {{"Authorization", "Bearer " + token}});
  if (r.status != expect_status)
    throw std::runtime_error("GET " + target + " -> " + std::to_string(r.status) + ": " + r.body);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  if (d.HasParseError()) throw std::runtime_error("GET " + target + ": body is not JSON");
  return d;
}

// Polls /api/queues until the inbox has nothing pending (the pipeline caught up).
inline void wait_pipeline_idle(uint16_t port, const std::string& token,
                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = get_json(port, "/api/queues", token);
    if (d["inbox"]["pending"].GetInt64() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("pipeline did not drain the inbox in time");
}

// Extracts field n (1-based after the segment id) of the first segment `seg` in an ER7 text.
inline std::string segment_field(const std::string& msg, const std::string& seg, int n) {
  auto pos = msg.find(seg + "|");
  if (pos == std::string::npos) return {};
  auto end = msg.find('\r', pos);
  std::string line = msg.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  int field = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '|') {
      if (field == n) return line.substr(start, i - start);
      ++field;
      start = i + 1;
    }
  }
  return {};
}

inline std::string oru_message(const std::string& control_id, const std::string& mrn, const std::string& filler,
                               const std::string& value) {
  return to_cr(
      "MSH|^~\\&|LAB|TEST_HOSP|PHRGATE|PHR|20261124101500-0500||ORU^R01^ORU_R01|" + control_id + "|P|2.5.1\n"
      "PID|1||" + mrn + "^^^TEST_HOSP^MR||Tester^Pat||19700101|F\n"
      "OBR|1|P-" + filler + "|" + filler + "|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN|||20261124090000-0500\n"
      "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||" + value + "|mg/dL^mg/dL^UCUM|70-99|H|||F|||20261124090000-0500\n");
}

}  // namespace phrgate::testing
