// Sink: one output adapter (the embedded PHR store, an external PHR's FHIR endpoint).
// The pipeline hands a sink a batch of converted messages; the sink reports, per message,
// Delivered (the destination has it durably), Retry (try again later: nothing is lost), or
// Reject (the destination refuses it: the message goes to the failed state for an operator).
// A sink must be idempotent: delivering the same message twice must not duplicate records.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "gateway/store/phr_store.h"

namespace phrgate::pipeline {

struct Delivery {
  int64_t inbox_id = 0;
  const std::string* source = nullptr;
  const std::string* control_id = nullptr;
  const std::string* person_id = nullptr;
  const std::vector<store::FhirResource>* resources = nullptr;
  // Non-empty for a document replacing earlier versions of itself (see ConvertedMessage).
  const std::string* document_set = nullptr;
  int64_t document_version = 0;
};

enum class DeliveryStatus { Delivered, Retry, Reject };

struct DeliveryOutcome {
  DeliveryStatus status = DeliveryStatus::Retry;
  std::string error;  // operator-readable, no PHI
};

struct SinkStatus {
  std::string name;
  std::string type;
  std::vector<std::pair<std::string, int64_t>> counters;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const std::string& name() const = 0;
  // One outcome per delivery, in the same order. Called by one thread at a time: the
  // pipeline's worker, or an operator's replay (serialized with it by the pipeline).
  virtual std::vector<DeliveryOutcome> deliver(const std::vector<Delivery>& batch) = 0;
  virtual SinkStatus status() const = 0;
};

}  // namespace phrgate::pipeline
