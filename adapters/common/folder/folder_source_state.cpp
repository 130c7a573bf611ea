// Implementation of FolderSourceState (see folder_source_state.h).
#include "adapters/common/folder/folder_source_state.h"

#include "gateway/core/metrics.h"

namespace phrgate::folder {

void FolderSourceState::init(std::string source_name, std::function<void()> notify, metrics::Registry& m) {
  source = std::move(source_name);
  notify_pipeline = std::move(notify);
  const std::string labels = "source=\"" + source + "\"";
  received = &m.counter("phrgate_messages_received_total", "Messages received per source", labels);
  accepted = &m.counter("phrgate_messages_acknowledged_total", "Messages acknowledged AA after a durable commit", labels);
  rejected_metric = &m.counter("phrgate_messages_rejected_total", "Messages answered AE or AR (kept in the inbox)", labels);
  duplicate_metric = &m.counter("phrgate_messages_duplicate_total",
                                "Repeated MSH-10 from the same sender, answered AA, not processed again", labels);
  commit_failure_metric = &m.counter("phrgate_commit_failures_total",
                                     "Inbox commits that failed (no ACK sent; sender resends)", labels);
  commit_latency = &m.histogram("phrgate_commit_seconds", "Time from a frame's arrival to its durable commit", labels);
}

std::vector<std::pair<std::string, int64_t>> FolderSourceState::status_counters(const FolderWatcherStats& w,
                                                                                 std::string_view item) const {
  const std::string p(item);
  return {{"files_processed", w.files_processed},
          {"files_failed", w.files_failed},
          {"files_retried", w.files_retried},
          {"files_waiting", w.files_waiting},
          {"scans", w.scans},
          {p + "_committed", committed.load()},
          {p + "_duplicate", duplicates.load()},
          {p + "_rejected", rejected.load()},
          {"commit_failures", commit_failures.load()}};
}

}  // namespace phrgate::folder
