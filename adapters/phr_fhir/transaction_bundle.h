// Builds the FHIR transaction Bundle the phr_fhir sink pushes for one message, so that sending
// it again never duplicates anything on the destination:
//  * a resource with an identifier: conditional update PUT [type]?identifier=system|value
//    (no id in the body: the destination keeps or assigns its own), or, when the converter
//    asked for only_if_absent, conditional create (POST with ifNoneExist identifier=...);
//  * a resource without one: PUT [type]/[id] with phrgate's deterministic id;
//  * entries addressed by identifier get a urn:uuid fullUrl derived from (type, id), and the
//    Bundle's references "Type/id" to them are rewritten to that urn so the server links them.
// Used by the phr_fhir sink at deliver() time; pure (no I/O), never logs resource content.
#pragma once

#include <string>
#include <vector>

#include "gateway/store/phr_store.h"

namespace phrgate::phr_fhir {

struct TransactionBundle {
  std::string json;
  int entries = 0;
};

// `person_patient`, when not null and no Patient with the person's id is among `resources`,
// is added as a conditional create so that the Bundle's patient references always resolve.
// Throws std::runtime_error when a resource's JSON does not parse.
TransactionBundle build_transaction_bundle(const std::vector<store::FhirResource>& resources,
                                           const store::FhirResource* person_patient);

// "urn:uuid:..." (RFC 4122 version-5 layout) derived from sha256("Type/id").
std::string entry_urn(const std::string& type, const std::string& id);

}  // namespace phrgate::phr_fhir
