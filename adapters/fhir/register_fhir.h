// Registers the FHIR intake with the daemon: the converter for content type
// "application/fhir+json" (also used by `phrgate convert`) and the polling source type
// "fhir_poll". The push receiver's routes are added separately (fhir_push_routes.h).
#pragma once

#include "gateway/pipeline/registry.h"

namespace phrgate::fhir {

void register_fhir(pipeline::Registry& registry);

}  // namespace phrgate::fhir
