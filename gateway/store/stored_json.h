// String helpers for the PHR store's served JSON: the FHIR instant clock and the splice that
// adds "meta" (versionId, lastUpdated) to a stored resource. Used by SqlitePhrStore and its
// tests. They never parse JSON: the stored text comes from our own converters and is trusted.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace phrgate::store {

// FHIR instant in UTC with milliseconds, e.g. "2024-05-01T12:34:56.789Z".
std::string fhir_instant(std::chrono::system_clock::time_point when);
inline std::string fhir_instant_now() { return fhir_instant(std::chrono::system_clock::now()); }

// Returns `resource_json` (a serialized object starting with '{', without "meta") with
// "meta":{"versionId":"<version>","lastUpdated":"<last_updated>"} inserted as a member. When the
// object's first member is "resourceType" the meta goes right after it (FHIR recommends
// resourceType first); otherwise right after the opening '{'.
std::string splice_meta(std::string_view resource_json, int64_t version,
                        std::string_view last_updated);

}  // namespace phrgate::store
