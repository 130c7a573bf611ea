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
    deleted_ = &deps.metrics.counter("phrgate_store_resources_deleted_total", "Resources dropped because a later version of their document no longer held them", labels);
    older_ = &deps.metrics.counter("phrgate_store_documents_superseded_total", "Document versions ignored because a newer version was already stored", labels);
  }

  const std::string& name() const override { return name_; }

  // Consecutive plain messages are written in one transaction; a document that replaces
  // earlier versions of itself gets its own (write_document). Batch order is kept; after a
  // failed write the rest of the batch is retried later, so nothing overtakes it.
  std::vector<pipeline::DeliveryOutcome> deliver(const std::vector<pipeline::Delivery>& batch) override {
    std::vector<pipeline::DeliveryOutcome> out(batch.size(), {pipeline::DeliveryStatus::Delivered, {}});
    std::vector<const store::FhirResource*> plain;
    std::size_t i = 0;
    try {
      while (i < batch.size()) {
        const auto& d = batch[i];
        if (d.document_set && !d.document_set->empty()) {
          std::vector<const store::FhirResource*> doc;
          for (const auto& r : *d.resources) doc.push_back(&r);
          count(store_.write_document(*d.document_set, d.document_version, doc));
          ++i;
          continue;
        }
        std::size_t end = i;
        plain.clear();
        for (; end < batch.size() && !(batch[end].document_set && !batch[end].document_set->empty()); ++end)
          for (const auto& r : *batch[end].resources) plain.push_back(&r);
        count(store_.write_all(plain));
        i = end;
      }
      delivered_->inc(batch.size());
    } catch (const std::exception& e) {
      errors_->inc();
      log::error("phr_store.write_failed", {{"sink", name_}, {"error", e.what()}});
      delivered_->inc(i);
      for (std::size_t k = i; k < batch.size(); ++k) out[k] = {pipeline::DeliveryStatus::Retry, e.what()};
    }
    return out;
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
  metrics::Counter* deleted_ = nullptr;
  metrics::Counter* older_ = nullptr;

  void count(const store::WriteStats& stats) {
    created_->inc(static_cast<uint64_t>(stats.created));
    updated_->inc(static_cast<uint64_t>(stats.updated));
    unchanged_->inc(static_cast<uint64_t>(stats.unchanged));
    deleted_->inc(static_cast<uint64_t>(stats.deleted));
    if (stats.older_version) older_->inc();
  }
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
