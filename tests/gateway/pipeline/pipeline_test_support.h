// Helpers for the pipeline/mapping tests: HL7 v2 messages with local codes, small table sets
// A and B that map the same local code differently, a capturing sink and JSON probes.
// Test-only; header-only; never linked into the daemon.
#pragma once

#include <rapidjson/document.h>

#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gateway/pipeline/sink.h"
#include "gateway/queue/inbox.h"

namespace phrgate::testing {

inline std::string cr(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = '\r';
  return s;
}

// An ORU^R01 from TEST_HOSP with one OBX whose OBX-3 is `obx3` (e.g. "GLU-LOCAL^Glucose^99LAB").
inline std::string oru(const std::string& control_id, const std::string& obx3,
                       const std::string& units = "mg/dL^mg/dL^UCUM", const std::string& interpretation = "H") {
  return cr("MSH|^~\\&|LAB|TEST_HOSP|PHRGATE|PHR|20261124101500-0500||ORU^R01^ORU_R01|" + control_id +
            "|P|2.5.1\n"
            "PID|1||MRN-" + control_id + "^^^TEST_HOSP^MR||Tester^Pat||19700101|F\n"
            "OBR|1|P-" + control_id + "|F-" + control_id +
            "|24331-1^Lipid panel^LN|||20261124090000-0500\n"
            "OBX|1|NM|" + obx3 + "||105|" + units + "|70-99|" + interpretation +
            "|||F|||20261124090000-0500\n");
}

inline constexpr const char* kLocalObx3 = "GLU-LOCAL^Glucose local^99LAB";
inline constexpr const char* kHeader = "source_system,source_code,target_system,target_code,target_display,scope\n";

// Tables every set shares: coding system names, interpretation codes, one unit.
inline std::vector<std::pair<std::string, std::string>> base_tables() {
  return {
      {"hl7v2/coding_systems.csv", std::string(kHeader) + "HL70396,LN,http://loinc.org,,LOINC,\n"},
      {"hl7v2/identifier_type.csv",
       std::string(kHeader) + "HL70203,MR,http://terminology.hl7.org/CodeSystem/v2-0203,MR,Medical record number,\n"},
      {"hl7v2/interpretation.csv",
       std::string(kHeader) +
           "HL70078,H,http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation,H,High,\n"},
      {"hl7v2/units_ucum.csv",
       std::string(kHeader) + "unit,mg/dL,http://unitsofmeasure.org,mg/dL,milligram per deciliter,\n"},
  };
}

// Set A maps the local glucose code to 2345-7, set B to 2339-0.
inline constexpr const char* kLoincA = "2345-7";
inline constexpr const char* kLoincB = "2339-0";
inline std::string local_table(const char* loinc) {
  return std::string(kHeader) + "99LAB,GLU-LOCAL,http://loinc.org," + loinc + ",Glucose,\n";
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError()) throw std::runtime_error("not JSON: " + json);
  return d;
}

// (system, code) of every coding of Observation.code, in order.
inline std::vector<std::pair<std::string, std::string>> code_codings(const std::string& observation_json) {
  std::vector<std::pair<std::string, std::string>> out;
  auto d = parse(observation_json);
  for (const auto& c : d["code"]["coding"].GetArray())
    out.emplace_back(c["system"].GetString(), c["code"].GetString());
  return out;
}

// A sink that keeps the Observation JSON of every delivery per inbox id; `decide` picks
// the outcome (default Delivered). Thread-safe.
class CaptureSink final : public pipeline::Sink {
 public:
  using Decide = std::function<pipeline::DeliveryStatus(const pipeline::Delivery&)>;
  explicit CaptureSink(std::string name = "capture", Decide decide = {})
      : name_(std::move(name)), decide_(std::move(decide)) {}
  const std::string& name() const override { return name_; }
  std::vector<pipeline::DeliveryOutcome> deliver(const std::vector<pipeline::Delivery>& batch) override {
    std::vector<pipeline::DeliveryOutcome> out;
    std::lock_guard lock(mutex_);
    ++calls_;
    for (const auto& d : batch) {
      auto status = decide_ ? decide_(d) : pipeline::DeliveryStatus::Delivered;
      out.push_back({status, status == pipeline::DeliveryStatus::Delivered ? "" : "test sink said no"});
      if (status != pipeline::DeliveryStatus::Delivered) continue;
      for (const auto& r : *d.resources)
        if (r.type == "Observation") observations_[d.inbox_id] = r.json;
    }
    return out;
  }
  pipeline::SinkStatus status() const override { return {name_, "capture", {}}; }
  std::map<int64_t, std::string> observations() {
    std::lock_guard lock(mutex_);
    return observations_;
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::string name_;
  Decide decide_;
  std::mutex mutex_;
  std::map<int64_t, std::string> observations_;
  int calls_ = 0;
};

inline queue::InboxMessage hl7_row(const std::string& control_id, std::string payload,
                                   const std::string& source = "emr") {
  queue::InboxMessage m;
  m.source = source;
  m.sender = "LAB^TEST_HOSP";
  m.control_id = control_id;
  m.message_type = "ORU^R01";
  m.content_type = "application/hl7-v2";
  m.payload = std::move(payload);
  return m;
}

}  // namespace phrgate::testing
