// InboxRetention: the background task that keeps the inbox file bounded. It deletes Done
// and Discarded rows past max_age_days (and Failed/Rejected rows past it too: an operator
// had that long), then, while the rows in use exceed max_bytes, the oldest Done and
// Discarded rows of any age; with their side-table rows; then returns free pages to the file
// system (incremental vacuum) where the file allows it. It never deletes a pending row.
// Each batch (batch_rows) is one short inbox transaction queued with live traffic, and the
// task pauses between batches, so sources' commits are never held up for long.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "gateway/queue/inbox.h"

namespace phrgate::metrics {
class Registry;
class Counter;
}

namespace phrgate::queue {

struct RetentionSettings {
  int64_t max_age_days = 0;    // 0: rows are not deleted for their age
  int64_t max_bytes = 0;       // 0: no size budget
  std::size_t batch_rows = 500;
  int64_t interval_seconds = 300;
  std::chrono::milliseconds pause_between_batches{20};
  int64_t vacuum_pages_per_batch = 2048;
  bool enabled() const { return max_age_days > 0 || max_bytes > 0; }
};

struct RetentionPass {
  std::size_t pruned_for_age = 0;
  std::size_t pruned_for_size = 0;
  int64_t pages_vacuumed = 0;
  bool over_budget = false;  // rows in use still exceed max_bytes (nothing left to prune)
};

class InboxRetention {
 public:
  // With `metrics`: registers phrgate_retention_pruned_total and phrgate_inbox_bytes (the
  // inbox file's size). `inbox` and `metrics` must outlive this object.
  InboxRetention(Inbox& inbox, RetentionSettings settings, metrics::Registry* metrics);
  ~InboxRetention();
  InboxRetention(const InboxRetention&) = delete;
  InboxRetention& operator=(const InboxRetention&) = delete;

  // Starts the background thread (a pass at once, then every interval_seconds); a no-op
  // when no limit is set.
  void start();
  // Stops between two batches and joins the thread.
  void stop();
  // One whole pass now, on the calling thread (tests, tools). Throws when the inbox does.
  RetentionPass run_once(int64_t now_ms);

 private:
  bool pause(std::chrono::milliseconds d);  // false: stopping
  void run();

  Inbox& inbox_;
  RetentionSettings settings_;
  metrics::Counter* pruned_total_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace phrgate::queue
