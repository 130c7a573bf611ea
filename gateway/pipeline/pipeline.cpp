// Implementation of the pipeline worker (see pipeline.h).
#include "gateway/pipeline/pipeline.h"

#include <stdexcept>

#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/mapping/code_map.h"
#include "gateway/queue/inbox.h"

namespace phrgate::pipeline {

struct Pipeline::Counters {
  metrics::Counter& converted;
  metrics::Counter& failed;
  metrics::Counter& retried;
  metrics::Histogram& convert_latency;
  metrics::Histogram& deliver_latency;
};

Pipeline::Pipeline(queue::Inbox& inbox, const Registry& registry, std::vector<Sink*> sinks,
                   std::map<std::string, ConvertSettings> settings_by_source,
                   std::shared_ptr<const mapping::CodeMaps> code_maps, metrics::Registry& metrics,
                   PipelineOptions options)
    : inbox_(inbox),
      registry_(registry),
      sinks_(std::move(sinks)),
      settings_by_source_(std::move(settings_by_source)),
      code_maps_(std::move(code_maps)),
      options_(options),
      metrics_(metrics),
      counters_(new Counters{
          metrics.counter("phrgate_pipeline_messages_processed_total", "Inbox rows converted and delivered to every sink"),
          metrics.counter("phrgate_pipeline_messages_failed_total", "Inbox rows that failed conversion or were rejected by a sink"),
          metrics.counter("phrgate_pipeline_messages_retried_total", "Inbox rows handed back for a later retry"),
          metrics.histogram("phrgate_conversion_seconds", "Time to convert one message to FHIR R4"),
          metrics.histogram("phrgate_delivery_seconds", "Time for the sinks to take one batch")}) {}

Pipeline::~Pipeline() { stop(); }

void Pipeline::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Pipeline::stop() {
  stopping_ = true;
  notify();
  if (thread_.joinable()) thread_.join();
}

void Pipeline::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Pipeline::set_code_maps(std::shared_ptr<const mapping::CodeMaps> maps) {
  std::lock_guard lock(maps_mutex_);
  code_maps_ = std::move(maps);
}

void Pipeline::run() {
  while (!stopping_) {
    std::size_t n = 0;
    try {
      n = process_batch();
    } catch (const std::exception& e) {
      // The inbox or store failed (disk full, I/O error): rows stay pending; back off.
      log::error("pipeline.batch_failed", {{"error", e.what()}});
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.retry_delay, [this] { return stopping_.load(); });
      continue;
    }
    if (n == 0) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.idle_poll, [this] { return notified_ || stopping_.load(); });
      notified_ = false;
    }
  }
}

std::size_t Pipeline::run_until_idle() {
  std::size_t total = 0;
  for (;;) {
    std::size_t n = process_batch();
    if (n == 0) return total;
    total += n;
  }
}

std::size_t Pipeline::process_batch() {
  if (std::chrono::steady_clock::now() < retry_after_) return 0;
  auto rows = inbox_.fetch_pending(options_.batch_size);
  if (rows.empty()) return 0;

  std::shared_ptr<const mapping::CodeMaps> maps;
  {
    std::lock_guard lock(maps_mutex_);
    maps = code_maps_;
  }
  const std::string mapping_version = maps ? maps->version() : std::string();

  struct Work {
    const queue::PendingRow* row;
    std::vector<ConvertedMessage> messages;
    std::string error;
  };
  std::vector<Work> work;
  work.reserve(rows.size());
  std::vector<queue::Completion> completions;

  for (const auto& row : rows) {
    Work w{&row, {}, {}};
    const ConverterEntry* conv = registry_.converter(row.content_type);
    if (!conv) {
      w.error = "no converter for content type " + row.content_type;
    } else {
      ConvertInput in;
      in.payload = row.payload;
      in.source = row.source;
      if (auto it = settings_by_source_.find(row.source); it != settings_by_source_.end())
        in.settings = it->second;
      in.code_maps = maps.get();
      auto t0 = std::chrono::steady_clock::now();
      try {
        w.messages = conv->convert(in);
      } catch (const std::exception& e) {
        w.error = std::string("converter error: ") + e.what();
      }
      counters_->convert_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      for (const auto& m : w.messages)
        if (!m.ok && w.error.empty()) w.error = m.error;
      if (w.messages.empty() && w.error.empty()) w.error = "nothing to convert";
    }
    if (!w.error.empty()) {
      log::warn("pipeline.conversion_failed", {{"source", row.source}, {"control_id", row.control_id},
                                               {"inbox_id", std::to_string(row.id)}, {"error", w.error}});
      completions.push_back({row.id, queue::InboxStatus::Failed, w.error, mapping_version});
      counters_->failed.inc();
      continue;
    }
    work.push_back(std::move(w));
  }

  // Deliver every converted message of the batch to each sink in one call.
  std::vector<Delivery> batch;
  std::vector<std::size_t> owner;  // index into work for each delivery
  for (std::size_t i = 0; i < work.size(); ++i)
    for (const auto& m : work[i].messages) {
      batch.push_back({work[i].row->id, &work[i].row->source, &m.control_id, &m.person_id, &m.resources});
      owner.push_back(i);
    }
  std::vector<DeliveryStatus> verdict(work.size(), DeliveryStatus::Delivered);
  std::vector<std::string> reason(work.size());
  if (!batch.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    for (Sink* sink : sinks_) {
      std::vector<DeliveryOutcome> outcomes;
      try {
        outcomes = sink->deliver(batch);
      } catch (const std::exception& e) {
        log::error("pipeline.sink_failed", {{"sink", sink->name()}, {"error", e.what()}});
        outcomes.assign(batch.size(), DeliveryOutcome{DeliveryStatus::Retry, e.what()});
      }
      if (outcomes.size() != batch.size())
        outcomes.resize(batch.size(), DeliveryOutcome{DeliveryStatus::Retry, "sink returned too few outcomes"});
      for (std::size_t d = 0; d < batch.size(); ++d) {
        auto i = owner[d];
        const auto& o = outcomes[d];
        if (o.status == DeliveryStatus::Reject && verdict[i] != DeliveryStatus::Reject) {
          verdict[i] = DeliveryStatus::Reject;
          reason[i] = sink->name() + ": " + o.error;
        } else if (o.status == DeliveryStatus::Retry && verdict[i] == DeliveryStatus::Delivered) {
          verdict[i] = DeliveryStatus::Retry;
          reason[i] = sink->name() + ": " + o.error;
        }
      }
    }
    counters_->deliver_latency.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  bool any_retry = false;
  for (std::size_t i = 0; i < work.size(); ++i) {
    const auto& row = *work[i].row;
    switch (verdict[i]) {
      case DeliveryStatus::Delivered:
        completions.push_back({row.id, queue::InboxStatus::Done, {}, mapping_version});
        counters_->converted.inc();
        break;
      case DeliveryStatus::Reject:
        log::warn("pipeline.delivery_rejected", {{"source", row.source}, {"control_id", row.control_id},
                                                 {"inbox_id", std::to_string(row.id)}, {"error", reason[i]}});
        completions.push_back({row.id, queue::InboxStatus::Failed, reason[i], mapping_version});
        counters_->failed.inc();
        break;
      case DeliveryStatus::Retry:
        log::warn("pipeline.delivery_retry", {{"control_id", row.control_id}, {"inbox_id", std::to_string(row.id)},
                                              {"error", reason[i]}});
        inbox_.release(row.id);
        counters_->retried.inc();
        any_retry = true;
        break;
    }
  }
  if (!completions.empty()) inbox_.complete_many(completions);
  if (any_retry) retry_after_ = std::chrono::steady_clock::now() + options_.retry_delay;
  return rows.size();
}

}  // namespace phrgate::pipeline
