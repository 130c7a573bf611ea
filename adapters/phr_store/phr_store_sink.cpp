// Implementation of the embedded PHR store sink (see phr_store_sink.h).
#include "adapters/phr_store/phr_store_sink.h"

#include "gateway/core/log.h"
#include "gateway/core/metrics.h"

namespace phrgate::phr_store {
namespace {

class PhrStoreSink final : public pipeline::Sink {
 public:
  PhrStoreSink(const config::AdapterConfig& cfg, pipeline::SinkDeps& deps)
      : name_(cfg.name), store_(deps.store) {
    std::string labels = "sink=\"" + name_ + "\"";
    delivered_ = &deps.metrics.counter("phrgate_sink_delivered_total", "Messages delivered per sink", labels);
    created_ = &deps.metrics.counter("phrgate_store_resources_created_total", "Resources created in the PHR store", labels);
    updated_ = &deps.metrics.counter("phrgate_store_resources_updated_total", "Resources updated (new version) in the PHR store", labels);
    unchanged_ = &deps.metrics.counter("phrgate_store_resources_unchanged_total", "Resources re-delivered with identical content", labels);
    errors_ = &deps.metrics.counter("phrgate_sink_errors_total", "Failed delivery attempts per sink", labels);
  }

  const std::string& name() const override { return name_; }

  std::vector<pipeline::DeliveryOutcome> deliver(const std::vector<pipeline::Delivery>& batch) override {
    std::vector<const store::FhirResource*> all;
    for (const auto& d : batch)
      for (const auto& r : *d.resources) all.push_back(&r);
    try {
      auto stats = store_.write_all(all);
      created_->inc(static_cast<uint64_t>(stats.created));
      updated_->inc(static_cast<uint64_t>(stats.updated));
      unchanged_->inc(static_cast<uint64_t>(stats.unchanged));
      delivered_->inc(batch.size());
      return std::vector<pipeline::DeliveryOutcome>(batch.size(), {pipeline::DeliveryStatus::Delivered, {}});
    } catch (const std::exception& e) {
      errors_->inc();
      log::error("phr_store.write_failed", {{"sink", name_}, {"error", e.what()}});
      return std::vector<pipeline::DeliveryOutcome>(batch.size(), {pipeline::DeliveryStatus::Retry, e.what()});
    }
  }

  pipeline::SinkStatus status() const override {
    return {name_, "phr_store",
            {{"delivered", static_cast<int64_t>(delivered_->value())},
             {"resources_created", static_cast<int64_t>(created_->value())},
             {"resources_updated", static_cast<int64_t>(updated_->value())},
             {"errors", static_cast<int64_t>(errors_->value())}}};
  }

 private:
  std::string name_;
  store::PhrStore& store_;
  metrics::Counter* delivered_;
  metrics::Counter* created_;
  metrics::Counter* updated_;
  metrics::Counter* unchanged_;
  metrics::Counter* errors_;
};

}  // namespace

std::unique_ptr<pipeline::Sink> make_phr_store_sink(const config::AdapterConfig& config,
                                                    pipeline::SinkDeps& deps) {
  return std::make_unique<PhrStoreSink>(config, deps);
}

void register_phr_store(pipeline::Registry& registry) {
  registry.add_sink({"phr_store", make_phr_store_sink});
}

}  // namespace phrgate::phr_store
