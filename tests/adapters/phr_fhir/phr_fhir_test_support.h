// Helpers for the phr_fhir sink tests: converter-style FhirResources (a person's Patient with
// an MRN, Observations with identifiers, a Condition without one) and pipeline Deliveries that
// own their strings. Test-only.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "gateway/pipeline/sink.h"

namespace phrgate::testing {

inline store::FhirResource patient_resource(const std::string& mrn, const std::string& family = "Test") {
  store::FhirResource r;
  r.type = "Patient";
  r.id = "pat-" + mrn;
  r.person_id = r.id;
  r.identifiers = {{"urn:test:mrn", mrn}};
  r.json = R"({"resourceType":"Patient","id":")" + r.id + R"(","identifier":[{"system":"urn:test:mrn","value":")" +
           mrn + R"("}],"name":[{"family":")" + family + R"("}]})";
  return r;
}

inline store::FhirResource observation_resource(const std::string& mrn, const std::string& key,
                                                const std::string& value = "1") {
  store::FhirResource r;
  r.type = "Observation";
  r.id = "obs-" + mrn + "-" + key;
  r.person_id = "pat-" + mrn;
  r.identifiers = {{"urn:test:obs", mrn + "-" + key}};
  r.json = R"({"resourceType":"Observation","id":")" + r.id + R"(","identifier":[{"system":"urn:test:obs","value":")" +
           mrn + "-" + key + R"("}],"status":"final","code":{"text":"test"},"subject":{"reference":"Patient/pat-)" + mrn +
           R"("},"valueString":")" + value + R"("})";
  return r;
}

inline store::FhirResource condition_resource(const std::string& mrn, const std::string& key) {
  store::FhirResource r;
  r.type = "Condition";
  r.id = "cond-" + mrn + "-" + key;
  r.person_id = "pat-" + mrn;
  r.json = R"({"resourceType":"Condition","id":")" + r.id + R"(","subject":{"reference":"Patient/pat-)" + mrn + R"("}})";
  return r;
}

// Owns the strings and resource vectors that pipeline::Delivery points to.
class DeliveryBatch {
 public:
  void add(const std::string& control_id, const std::string& mrn, std::vector<store::FhirResource> resources) {
    auto& m = messages_.emplace_back();
    m.control_id = control_id;
    m.person_id = "pat-" + mrn;
    m.resources = std::move(resources);
    batch_.push_back({static_cast<int64_t>(messages_.size()), &source_, &m.control_id, &m.person_id, &m.resources});
  }
  const std::vector<pipeline::Delivery>& deliveries() const { return batch_; }

 private:
  struct Message {
    std::string control_id, person_id;
    std::vector<store::FhirResource> resources;
  };
  std::string source_ = "test";
  std::deque<Message> messages_;
  std::vector<pipeline::Delivery> batch_;
};

}  // namespace phrgate::testing
