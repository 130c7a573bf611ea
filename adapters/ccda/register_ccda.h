// Registers the C-CDA adapter with the daemon: the converter for content type
// application/cda+xml (with its sniff, used by `phrgate convert`). Intake sources (folder,
// HTTP) register here too when they are compiled in.
#pragma once

#include "gateway/pipeline/registry.h"

namespace phrgate::ccda {

void register_ccda(pipeline::Registry& registry);

}  // namespace phrgate::ccda
