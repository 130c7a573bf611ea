// Sink type "phr_fhir": pushes each message's records to an external PHR's FHIR R4 endpoint as
// an idempotent transaction Bundle (transaction_bundle.h). deliver() only commits the Bundles
// to the sink's durable outbox (fhir_outbox.h) and returns Delivered after that commit; worker
// threads send from the outbox, persons in parallel (up to parallel_persons), each person's
// Bundles strictly in order, with exponential backoff and jitter on 5xx / network errors and
// a dead-letter state for 4xx rejections. Never logs PHI: logs name the control id and seq.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "adapters/common/fhir_client/fhir_http_client.h"
#include "adapters/phr_fhir/fhir_outbox.h"
#include "gateway/pipeline/registry.h"

namespace phrgate::phr_fhir {

struct PhrFhirOptions {
  fhir_client::ClientOptions client;  // url, ca_file, timeouts, auth
  std::string outbox_path;            // the SQLite outbox file
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_cap{300000};
  int max_attempts = 0;  // 0: retry without limit; otherwise dead-letter after that many
  int parallel_persons = 4;
  bool add_person_patient = true;  // include the person's Patient (from the store) if missing
};

// Parses a validated sink config object (schemas/sinks/phr_fhir.schema.json). `data_dir` gives
// the default outbox path <data_dir>/phr_fhir-<name>.outbox.db. Throws std::runtime_error
// with the JSON path of a bad value.
PhrFhirOptions parse_phr_fhir_options(const config::AdapterConfig& config, const std::string& data_dir);

// Classifies a destination's answer: true for a permanent rejection (dead letter).
bool is_permanent_rejection(int http_status);

class PhrFhirSink final : public pipeline::Sink {
 public:
  // Opens the outbox and starts the workers; throws std::runtime_error on a bad configuration.
  PhrFhirSink(std::string name, PhrFhirOptions options, store::PhrStore* store, metrics::Registry& metrics);
  ~PhrFhirSink() override;  // stops the workers (in-flight requests end within their timeouts)

  const std::string& name() const override;
  std::vector<pipeline::DeliveryOutcome> deliver(const std::vector<pipeline::Delivery>& batch) override;
  pipeline::SinkStatus status() const override;

  OutboxCounts outbox_counts() const;
  std::vector<DeadLetter> dead_letters() const;
  // Blocks until nothing is pending or in flight, or the timeout passes; true when drained.
  bool wait_drained(std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

std::unique_ptr<pipeline::Sink> make_phr_fhir_sink(const config::AdapterConfig& config, pipeline::SinkDeps& deps);
void register_phr_fhir(pipeline::Registry& registry);

}  // namespace phrgate::phr_fhir
