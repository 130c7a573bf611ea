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
// FHIR id syntax: [A-Za-z0-9\-\.]{1,64}.
bool is_fhir_id(std::string_view id);
// SHA-256 of `data` as 64 lowercase hex characters (tokens are compared by hash).
std::string sha256_hex(std::string_view data);

}  // namespace phrgate
