// Pipeline: the worker that drains the durable inbox. For each pending row it picks the
// converter by content type, converts with the current mapping tables, hands the result to
// every sink, and marks the row Done only when all sinks report Delivered (Failed on a
// conversion error or a sink's Reject, released for a later retry on Retry).
// It never deletes or skips a row on its own: a crash at any point leaves the row pending
// and the work is redone idempotently after restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/pipeline/registry.h"

namespace phrgate::queue {
class Inbox;
}

namespace phrgate::pipeline {

struct PipelineOptions {
  std::size_t batch_size = 256;
  std::chrono::milliseconds retry_delay{1000};
  std::chrono::milliseconds idle_poll{50};
};

class Pipeline {
 public:
  Pipeline(queue::Inbox& inbox, const Registry& registry, std::vector<Sink*> sinks,
           std::map<std::string, ConvertSettings> settings_by_source,
           std::shared_ptr<const mapping::CodeMaps> code_maps, metrics::Registry& metrics,
           PipelineOptions options);
  ~Pipeline();

  void start();
  // Finishes the batch in hand, then stops the worker thread (pending rows stay pending).
  void stop();
  // Wakes the worker (called when new rows were committed).
  void notify();
  // Replaces the mapping tables used for the next conversions (never a half-loaded set).
  void set_code_maps(std::shared_ptr<const mapping::CodeMaps> maps);
  // Processes pending rows until none is left (tests, tools). Returns rows processed.
  std::size_t run_until_idle();

 private:
  std::size_t process_batch();
  void run();

  queue::Inbox& inbox_;
  const Registry& registry_;
  std::vector<Sink*> sinks_;
  std::map<std::string, ConvertSettings> settings_by_source_;
  std::shared_ptr<const mapping::CodeMaps> code_maps_;
  std::mutex maps_mutex_;
  PipelineOptions options_;

  metrics::Registry& metrics_;
  struct Counters;
  std::unique_ptr<Counters> counters_;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  std::atomic<bool> stopping_{false};
  // Rows released for retry are not fetched again before this time.
  std::chrono::steady_clock::time_point retry_after_{};
};

}  // namespace phrgate::pipeline
