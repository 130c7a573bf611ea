// Pipeline: the worker that drains the durable inbox. For each pending row it picks the
// converter by content type, converts with the current mapping tables, hands the result to
// every sink, and marks the row Done only when all sinks report Delivered (Failed on a
// conversion error or a sink's Reject, released for a later retry on Retry).
// It never deletes or skips a row on its own: a crash at any point leaves the row pending
// and the work is redone idempotently after restart. Each row records the mapping tables'
// version it was converted with; replay() converts a finished row again (same or current
// tables) for an operator. Unmapped codes met while converting are counted per batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/pipeline/registry.h"

namespace phrgate::queue {
class Inbox;
struct InboxRow;
struct Completion;
struct DeliveryAttempt;
}
namespace phrgate::metrics {
class Counter;
}
namespace phrgate::mapping {
class UnmappedCodeCollector;
class UnmappedCodeStore;
}

namespace phrgate::pipeline {

struct PipelineOptions {
  std::size_t batch_size = 256;
  std::chrono::milliseconds retry_delay{1000};
  std::chrono::milliseconds idle_poll{50};
  // When the worker keeps up (its last batch was not full) the next batch starts no sooner
  // than this after the previous one started, so rows arriving meanwhile gather into one
  // batch: one store transaction (one fsync) for many rows instead of one per handful, each
  // competing with the inbox's commits for the disk. Zero: fetch again at once. A row that
  // arrives after an idle spell is still taken at once.
  std::chrono::milliseconds busy_batch_interval{20};
  // Added to the worker thread's nice value (Linux; 0: unchanged), so on a busy machine the
  // MLLP threads and the inbox committer, whose work an ACK waits for, get the CPU first.
  int worker_nice = 10;
  // Rows completed per inbox commit (with their delivery attempts); see write_completions().
  std::size_t completion_chunk = 32;
  // Where the counts of unmapped codes go after each batch (null: only the metric
  // phrgate_unmapped_codes_total{source} counts them). Must outlive the pipeline.
  mapping::UnmappedCodeStore* unmapped_codes = nullptr;
};

struct ReplayOutcome {
  enum class Result {
    Done,           // converted and delivered to every sink; the row is Done
    Failed,         // conversion failed or a sink rejected it; the row is Failed with `error`
    Retry,          // a sink asked to retry later; the row is left as it was
    NotReplayable,  // the row is not Done or Failed (pending, rejected, or unknown)
  };
  Result result = Result::NotReplayable;
  std::string error;            // operator-readable, no PHI
  std::string mapping_version;  // the tables used
};

class PersonResolver;

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
  // Converts a finished row (Done or Failed) again with `maps`, delivers it to every sink
  // (one delivery at a time with the worker's batches) and records the outcome and the
  // mapping version on the row. Any thread. Unmapped codes are not counted again.
  ReplayOutcome replay(const queue::InboxRow& row, std::shared_ptr<const mapping::CodeMaps> maps);
  // Installs the identity step between conversion and delivery (null: none). Call before
  // start(); the resolver must outlive the pipeline. A held row is completed Failed with the
  // reason, and is released by replaying it once the review is decided.
  void set_person_resolver(PersonResolver* resolver);

 private:
  std::optional<std::string> resolve_persons(std::vector<ConvertedMessage>& messages, int64_t inbox_id,
                                             std::string_view message_type);
  struct Conversion {
    std::vector<ConvertedMessage> messages;
    std::string error;  // set: the row fails
  };
  Conversion convert(const std::string& source, const std::string& content_type,
                     std::string_view payload, const mapping::CodeMaps* maps,
                     mapping::UnmappedCodeSink* unmapped);
  // Hands `batch` to every sink; verdict/reason per owner index (owner[d] for delivery d).
  // With `attempts`: one record per (row, sink), the sink's worst verdict on that row.
  void deliver(const std::vector<Delivery>& batch, const std::vector<std::size_t>& owner,
               std::vector<DeliveryStatus>& verdict, std::vector<std::string>& reason,
               std::vector<queue::DeliveryAttempt>* attempts = nullptr);
  void count_unmapped();
  void write_completions(const std::vector<queue::Completion>& completions,
                         std::vector<queue::DeliveryAttempt> attempts);
  std::size_t process_batch();
  void run();

  queue::Inbox& inbox_;
  const Registry& registry_;
  std::vector<Sink*> sinks_;
  std::map<std::string, ConvertSettings> settings_by_source_;
  std::shared_ptr<const mapping::CodeMaps> code_maps_;
  std::mutex maps_mutex_;
  std::mutex deliver_mutex_;
  PersonResolver* person_resolver_ = nullptr;  // sinks see one deliver() call at a time (worker or replay)
  PipelineOptions options_;

  metrics::Registry& metrics_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::unique_ptr<mapping::UnmappedCodeCollector> unmapped_;  // worker thread only
  std::map<std::string, metrics::Counter*, std::less<>> unmapped_counters_;  // worker only

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  std::atomic<bool> stopping_{false};
  // Rows released for retry are not fetched again before this time.
  std::chrono::steady_clock::time_point retry_after_{};
};

}  // namespace phrgate::pipeline
