// Assembles converted resources into a FHIR R4 transaction Bundle (one per source message),
// as printed by `phrgate convert` and pushed to external FHIR servers. Entries use
// fullUrl "urn:uuid:<id>" (the converters' ids are UUIDs) and PUT Type/id requests, so
// applying the same Bundle twice updates rather than duplicates.
#pragma once

#include <string>
#include <vector>

#include "gateway/store/phr_store.h"

namespace phrgate::pipeline {

void append_transaction_bundle(std::string& out, const std::vector<store::FhirResource>& resources);

}  // namespace phrgate::pipeline
