// Benchmark: resources per second the phr_fhir sink pushes to the Node FHIR test server on
// 127.0.0.1 (transaction Bundles of 4 resources, persons in parallel). Prints name=value
// lines; exits 77 when node/npm is unavailable. Bounded: a fixed number of messages.
// Usage: bench_phr_fhir [MESSAGES] (default 60). The Node in-memory server dominates the time.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "adapters/phr_fhir/phr_fhir_sink.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "tests/adapters/phr_fhir/phr_fhir_test_support.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;

int main(int argc, char** argv) {
  int messages = argc > 1 ? std::atoi(argv[1]) : 60;
  if (std::getenv("PHRGATE_BENCH_DEBUG")) log::set_level(log::Level::Debug);
  if (!testing::FhirTestServer::available()) {
    std::puts("skipped=node_unavailable");
    return 77;
  }
  testing::TempDir dir;
  testing::FhirTestServer server(testing::FhirTestServerOptions{});
  server.start();
  metrics::Registry metrics;
  phr_fhir::PhrFhirOptions o;
  o.client.base_url = server.base_url();
  o.outbox_path = dir.file("outbox.db");
  o.parallel_persons = 4;
  testing::DeliveryBatch batch;
  int resources = 0;
  for (int i = 0; i < messages; ++i) {
    std::string mrn = "P" + std::to_string(i % 50);
    std::string k = std::to_string(i);
    batch.add("M" + k, mrn, {testing::patient_resource(mrn), testing::observation_resource(mrn, k + "a"),
                             testing::observation_resource(mrn, k + "b"), testing::condition_resource(mrn, k)});
    resources += 4;
  }
  auto t0 = std::chrono::steady_clock::now();
  phr_fhir::PhrFhirSink sink("bench", o, nullptr, metrics);
  sink.deliver(batch.deliveries());
  auto t1 = std::chrono::steady_clock::now();
  bool drained = sink.wait_drained(std::chrono::seconds(120));
  auto t2 = std::chrono::steady_clock::now();
  double enqueue_s = std::chrono::duration<double>(t1 - t0).count();
  double total_s = std::chrono::duration<double>(t2 - t0).count();
  std::printf("phr_fhir_messages=%d\nphr_fhir_resources=%d\nphr_fhir_enqueue_ms=%.1f\n", messages, resources,
              enqueue_s * 1000);
  std::printf("phr_fhir_drained=%d\nphr_fhir_resources_per_s=%.0f\nphr_fhir_bundles_per_s=%.0f\n", drained ? 1 : 0,
              resources / total_s, messages / total_s);
  return drained ? 0 : 1;
}
