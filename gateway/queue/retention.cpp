// Implementation of the inbox retention task (see retention.h). It only calls Inbox::prune()
// and vacuum_free_pages(), which run on the inbox's committer thread one small transaction
// at a time; it never writes the database itself and never names a pending row.
#include "gateway/queue/retention.h"

#include "gateway/core/log.h"
#include "gateway/core/metrics.h"

namespace phrgate::queue {
namespace {

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kDayMs = 86'400'000;

}  // namespace

InboxRetention::InboxRetention(Inbox& inbox, RetentionSettings settings, metrics::Registry* metrics)
    : inbox_(inbox), settings_(settings) {
  if (settings_.batch_rows == 0) settings_.batch_rows = 1;
  if (!metrics) return;
  pruned_total_ = &metrics->counter("phrgate_retention_pruned_total",
                                    "Finished inbox rows deleted by retention (age or size budget)");
  metrics->gauge("phrgate_inbox_bytes", "Size of the inbox database file", "",
                 [&inbox] { return static_cast<double>(inbox.size().file_bytes); });
}

InboxRetention::~InboxRetention() { stop(); }

void InboxRetention::start() {
  if (!settings_.enabled() || thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void InboxRetention::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool InboxRetention::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

RetentionPass InboxRetention::run_once(int64_t now_ms) {
  RetentionPass pass;
  auto prune = [&](PruneRequest request, std::size_t& counted) {
    std::size_t n = inbox_.prune(request);
    counted += n;
    if (pruned_total_) pruned_total_->inc(n);
    return n;
  };
  if (settings_.max_age_days > 0) {
    PruneRequest aged{{InboxStatus::Done, InboxStatus::Discarded, InboxStatus::Failed, InboxStatus::Rejected},
                      now_ms - settings_.max_age_days * kDayMs, settings_.batch_rows};
    while (prune(aged, pass.pruned_for_age) == settings_.batch_rows)
      if (!pause(settings_.pause_between_batches)) return pass;
  }
  if (settings_.max_bytes > 0) {
    PruneRequest oldest{{InboxStatus::Done, InboxStatus::Discarded}, now_ms + 1, settings_.batch_rows};
    while (inbox_.size().used_bytes > settings_.max_bytes) {
      if (prune(oldest, pass.pruned_for_size) == 0) {
        pass.over_budget = true;
        break;
      }
      if (!pause(settings_.pause_between_batches)) return pass;
    }
  }
  if (inbox_.size().incremental_vacuum) {
    for (;;) {
      int64_t freed = inbox_.vacuum_free_pages(settings_.vacuum_pages_per_batch);
      pass.pages_vacuumed += freed;
      if (freed < settings_.vacuum_pages_per_batch) break;
      if (!pause(settings_.pause_between_batches)) return pass;
    }
  }
  return pass;
}

void InboxRetention::run() {
  const auto interval = std::chrono::seconds(std::max<int64_t>(settings_.interval_seconds, 1));
  do {
    try {
      RetentionPass pass = run_once(wall_now_ms());
      InboxSize size = inbox_.size();
      if (pass.pruned_for_age + pass.pruned_for_size > 0 || pass.pages_vacuumed > 0)
        log::info("inbox_retention_pass", {{"pruned_for_age", std::to_string(pass.pruned_for_age)},
                                         {"pruned_for_size", std::to_string(pass.pruned_for_size)},
                                         {"pages_vacuumed", std::to_string(pass.pages_vacuumed)},
                                         {"file_bytes", std::to_string(size.file_bytes)},
                                         {"used_bytes", std::to_string(size.used_bytes)}});
      if (pass.over_budget)
        log::warn("inbox_over_budget", {{"max_bytes", std::to_string(settings_.max_bytes)},
                                        {"used_bytes", std::to_string(size.used_bytes)},
                                        {"reason", "only pending, failed or rejected rows are left"}});
    } catch (const std::exception& e) {
      log::error("inbox_retention_failed", {{"error", e.what()}});  // retried next interval
    }
  } while (pause(std::chrono::duration_cast<std::chrono::milliseconds>(interval)));
}

}  // namespace phrgate::queue
