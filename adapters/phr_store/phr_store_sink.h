// Sink type "phr_store": writes converted resources into the embedded PHR store.
// One store transaction per pipeline batch (all messages of the batch, or none), so the
// store's fsync cost is shared by the batch. Resource ids are deterministic, so delivering
// a batch again after a crash updates the same rows: never duplicates.
#pragma once

#include <memory>

#include "gateway/pipeline/registry.h"

namespace phrgate::phr_store {

std::unique_ptr<pipeline::Sink> make_phr_store_sink(const config::AdapterConfig& config,
                                                    pipeline::SinkDeps& deps);
void register_phr_store(pipeline::Registry& registry);

}  // namespace phrgate::phr_store
