// Deterministic FHIR resource ids derived from source identifiers, so the same record sent
// twice maps to the same id (updates, never duplicates). SHA-256 over the parts, each
// length-prefixed (no ambiguity between "ab"+"c" and "a"+"bc"), formatted as a UUID
// (version 5 / RFC 4122 variant bits set) so the id also works as a urn:uuid: fullUrl.
// A cryptographic hash is used on purpose: senders control the identifier text, and must
// not be able to craft a collision that overwrites another person's record.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace phrgate {

std::string derive_resource_id(std::string_view type, std::initializer_list<std::string_view> parts);
// Appends the 36-character id to `out` (no allocation when `out` has capacity).
void append_resource_id(std::string& out, std::string_view type,
                        std::initializer_list<std::string_view> parts);
// Ids of several resources whose leading parts are the same (e.g. the Observations of one
// order): those parts are hashed once, and each id() hashes only the parts after them.
// id({x, y}) == derive_resource_id(type, {prefix parts..., x, y}). Holds only hash state.
class ResourceIdPrefix {
 public:
  ResourceIdPrefix(std::string_view type, std::initializer_list<std::string_view> parts);
  std::string id(std::initializer_list<std::string_view> more_parts) const;

 private:
  alignas(16) unsigned char state_[128];  // an OpenSSL SHA256_CTX (size checked in the .cpp)
};
// The id of a person's Patient resource, the same for every input format (HL7 v2, C-CDA,
// FHIR): from the (system, value) of the patient's medical record number (identifier type MR),
// or of the first identifier when none is typed MR. The same MRN under the same system from
// two feeds therefore lands on the same Patient.
inline std::string patient_resource_id(std::string_view system, std::string_view value) {
  return derive_resource_id("Patient", {system, value});
}
// FHIR id syntax: [A-Za-z0-9\-\.]{1,64}.
bool is_fhir_id(std::string_view id);
// SHA-256 of `data` as 64 lowercase hex characters (tokens are compared by hash).
std::string sha256_hex(std::string_view data);

}  // namespace phrgate
