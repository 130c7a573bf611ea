// Identifier systems, the Patient's key identifier and coded values of incoming FHIR
// resources, normalized with the same mapping tables and rules as the HL7 v2 converter
// (adapters/hl7v2/hl7v2_to_fhir.h, "Identifier systems"), so an MRN received as HL7 v2 and
// as FHIR lands on the same PHR person: person id = patient_resource_id(system, value)
// (gateway/core/resource_id.h) of the key identifier. Pure; never logs.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phrgate::mapping {
class CodeMaps;
}

namespace phrgate::fhir {

struct IdentifierContext {
  std::string_view source;  // the configured source name (code map scope, fallback assigner)
  const mapping::CodeMaps* code_maps = nullptr;
};

// Identifier.system as the HL7 v2 converter would write it for the same assigning authority:
//   "urn:oid:<oid>"  -> the "oid" table's URI, else unchanged;
//   "urn:uuid:<u>"   -> lower-cased;  any other URI (has ':') -> unchanged;
//   a bare name      -> the "assigning-authority" table's URI, else urn:phrgate:assigner:<name>;
//   empty            -> the same with the source name as the assigner.
std::string normalize_identifier_system(const IdentifierContext& c, std::string_view system);

// The key identifier of a Patient: the first with a value whose type is v2-0203 "MR", else
// the first with a value. False when it has none. `system` is normalized.
bool patient_key_identifier(const IdentifierContext& c, const rapidjson::Value& patient, std::string& system,
                            std::string& value);

// Rewrites Resource.identifier systems in place (normalized as above) and returns the
// (system, value) pairs for the store's identifier index.
std::vector<std::pair<std::string, std::string>> normalize_identifiers(const IdentifierContext& c,
                                                                       rapidjson::Value& resource,
                                                                       rapidjson::Document::AllocatorType& alloc);

// Every Coding in the resource: an OID system ("urn:oid:...") becomes the oid table's URI;
// a (system, code) with a row in the tables gets the target coding inserted first (local
// code translation), unless an equal coding is already there.
void normalize_codings(const IdentifierContext& c, rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc,
                       int depth = 0);

}  // namespace phrgate::fhir
