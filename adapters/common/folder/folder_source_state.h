// What every watched-folder source (hl7v2_folder, ccda_folder) counts, shared between the
// source and the commit callbacks of the files in flight: its counters, the pipeline wake-up,
// and the metrics under the same names as the MLLP source, so dashboards work across source
// types. Used only by the folder sources; never logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/common/folder/folder_watcher.h"

namespace phrgate::metrics {
class Counter;
class Histogram;
class Registry;
}  // namespace phrgate::metrics

namespace phrgate::folder {

struct FolderSourceState {
  std::string source;
  std::function<void()> notify_pipeline;
  std::atomic<int64_t> committed{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> commit_failures{0};
  metrics::Counter* received = nullptr;
  metrics::Counter* accepted = nullptr;
  metrics::Counter* rejected_metric = nullptr;
  metrics::Counter* duplicate_metric = nullptr;
  metrics::Counter* commit_failure_metric = nullptr;
  metrics::Histogram* commit_latency = nullptr;

  // Names the source, keeps the wake-up and registers the metrics (labelled source="<name>").
  void init(std::string source_name, std::function<void()> notify, metrics::Registry& metrics);
  // The status counters of the source: the watcher's file counts, then "<item>_committed",
  // "<item>_duplicate", "<item>_rejected" (item: "messages", "documents") and commit_failures.
  std::vector<std::pair<std::string, int64_t>> status_counters(const FolderWatcherStats& files,
                                                               std::string_view item) const;
};

}  // namespace phrgate::folder
