// FHIR R4 JSON -> the PHR's normalized resources: the converter registered for content type
// "application/fhir+json". Takes one resource or a Bundle (collection, transaction, batch,
// searchset, ...) and returns one ConvertedMessage per Patient found. Pure (no I/O, no
// logging; the clock only for Provenance.recorded when the payload has no timestamp). Error
// texts name entry numbers and element paths, never values (no PHI).
//
// Normalization (README.md in this folder has the full list):
//  - person id = the Patient's id = patient_resource_id(system, value) of its key identifier
//    (fhir_identifiers.h), exactly as the HL7 v2 converter derives it;
//  - every other resource id = derive_resource_id(type, {source, original id}) (the entry's
//    fullUrl when the resource has no id), so re-sending updates rather than duplicates;
//  - every Reference.reference to a resource of the payload ("Type/id", fullUrl "urn:uuid:",
//    absolute URLs of the sending server) is rewritten to the new id; "Type/id" references to
//    resources not in the payload get the id that resource would get from this source; a
//    reference to a Patient that is not in the payload fails the message;
//  - identifier systems and codings normalized through the mapping tables; meta removed
//    (the store writes its own); non-clinical types (is_dropped_resource_type) dropped;
//  - resources referring to no Patient (Organization, Practitioner, Medication, Location...)
//    go with every Patient's message; a Provenance naming the source targets them all.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "gateway/pipeline/converter.h"

namespace phrgate::fhir {

inline constexpr std::string_view kFhirContentType = "application/fhir+json";

struct FhirConvertStats {
  std::size_t resources_kept = 0;     // resources written (across all messages, no Provenance)
  std::size_t resources_dropped = 0;  // non-clinical types left out
  std::size_t entries_skipped = 0;    // Bundle entries without a resource (DELETE requests...)
  std::size_t patients = 0;
  // (Bundle.entry index, "Type/new-id") of each resource kept, in payload order (the push
  // receiver's Location values; a lone resource is entry 0).
  std::vector<std::pair<std::size_t, std::string>> locations;
};

std::vector<pipeline::ConvertedMessage> convert_fhir(const pipeline::ConvertInput& in,
                                                     FhirConvertStats* stats = nullptr);

// True when `head` (the first bytes of a file) looks like FHIR JSON: '{' first (after a BOM
// and white space) and "resourceType" within it.
bool sniff_fhir_json(std::string_view head);

}  // namespace phrgate::fhir
