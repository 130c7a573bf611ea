// Structural validation of FHIR R4 JSON payloads (one resource, or a Bundle of them) for the
// FHIR intake: known resourceType, id and reference syntax, nesting depth, no control
// characters in strings, and the required elements that are cheap to check for common
// clinical types. Used by the push receiver before it commits a payload and by the converter.
// Error texts name element paths and entry numbers only, never values (no PHI).
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::fhir {

// One resource found in the payload, in order (a lone resource is entry 0).
struct PayloadEntry {
  std::string type;        // resourceType
  std::string id;          // Resource.id as sent ("" when absent)
  std::string full_url;    // Bundle.entry.fullUrl ("" when absent)
  std::string version_id;  // meta.versionId ("" when absent)
  std::string method;      // Bundle.entry.request.method ("" when absent)
  std::size_t entry_index = 0;  // position in Bundle.entry (0 for a lone resource)
  bool dropped = false;    // a type the PHR does not keep (is_dropped_resource_type)
  rapidjson::Value* resource = nullptr;  // into the checked document
};

struct PayloadSummary {
  std::string resource_type;  // "Bundle" or the lone resource's type
  std::string bundle_type;    // Bundle.type ("" for a lone resource)
  std::string id;             // the top-level Resource.id
  std::string identifier;     // Bundle.identifier as "system|value" ("" when absent)
  std::string version_id;     // the top-level meta.versionId
  std::string timestamp;      // Bundle.timestamp
  std::vector<PayloadEntry> entries;
  std::size_t skipped_entries = 0;  // Bundle entries without a resource (e.g. DELETE requests)
};

// Checks a parsed document (see parse_fhir_json). False with `error` (no PHI) on the first
// problem; `out.entries[i].resource` point into `doc`.
bool check_fhir_document(rapidjson::Document& doc, PayloadSummary& out, std::string& error);

// Parses and checks `payload`; `out.entries[i].resource` is null afterwards.
bool check_fhir_payload(std::string_view payload, PayloadSummary& out, std::string& error);

// Reference.reference syntax: "#local", "Type/id[/_history/v]", "Type?query", "urn:uuid:…",
// "urn:oid:…", or an absolute http(s) URL.
bool is_valid_reference(std::string_view ref);

}  // namespace phrgate::fhir
