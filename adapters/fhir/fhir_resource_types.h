// The FHIR R4 resource type list and how the FHIR intake treats each type: kept (clinical or
// directory data such as Organization), or dropped as non-clinical (conformance and
// infrastructure resources like CapabilityStatement). Used by the converter and the push
// receiver's structural validation. Pure tables; no I/O.
#pragma once

#include <string_view>

namespace phrgate::fhir {

// True for every resource type defined by FHIR R4 (4.0.1).
bool is_r4_resource_type(std::string_view type);

// True for R4 types the PHR does not keep (conformance, terminology, workflow plumbing,
// messaging envelopes): the converter drops them and counts them.
bool is_dropped_resource_type(std::string_view type);

}  // namespace phrgate::fhir
