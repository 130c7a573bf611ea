// Same-fact recognition for Patient/$everything?_dedup=true: finds the allergies, immunizations
// and observations that two sources (or one source twice) recorded as the same clinical fact,
// and presents each such group once. Pure functions over stored resources (no store, no I/O, no
// logging); they never drop anything but a recognised duplicate and never touch Provenance.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/phr_store.h"

namespace phrgate::admin {

// On the presented resource of a group, one extension per other resource of the group:
//   {"url": kSameFactExtensionUrl, "valueReference": {"reference": "Observation/<id>"}}
inline constexpr std::string_view kSameFactExtensionUrl =
    "https://phrgate.invalid/fhir/StructureDefinition/duplicate-of-same-fact";

// A group of resources recording the same fact; indexes into the input vector.
struct SameFactGroup {
  std::size_t primary = 0;          // earliest lastUpdated (ties: first in input order)
  std::vector<std::size_t> others;  // never empty, ascending
};

// The groups among `resources` (one person's), ordered by primary index. Only these match:
//  * AllergyIntolerance: a code coding (system|code) in common; when both have an onset
//    (onsetDateTime / onsetPeriod.start) the same onset day, else when both have a
//    recordedDate the same recorded day; the same "refuted" verification.
//  * Immunization: a vaccineCode coding in common, the same occurrenceDateTime day (the
//    date as written, local to the source), the same status.
//  * Observation: a code coding in common, the same effective time to the minute
//    (effectiveDateTime / effectiveInstant / effectivePeriod.start, compared in UTC when an
//    offset is given; date-only times match only the same date), and the same value:
//    valueQuantity (same number and comparator; the same code+system when both have a code,
//    else the same unit text), valueCodeableConcept (a coding in common), valueString
//    (identical); any other value[x] must be identical JSON. Components, when present, must
//    pair up one to one with the same code and value.
// Resources with status or verificationStatus entered-in-error (and cancelled Observations),
// without a code or (Observation, Immunization) without a time or value are never grouped.
// Every other resource of a group matches its primary directly (no chains of similarity).
std::vector<SameFactGroup> find_same_fact_groups(
    const std::vector<store::StoredResource>& resources);

// `resource_json` with one kSameFactExtensionUrl extension per reference ("Type/id") appended
// to its "extension" array (created when absent). Unchanged if it is not a JSON object.
std::string with_same_fact_extension(std::string_view resource_json,
                                     const std::vector<std::string>& references);

// Each group presented once: its primary keeps its position and gains the extension listing
// the others, which are removed. Every other resource (Provenance included) is kept, in order.
std::vector<store::StoredResource> present_same_facts_once(
    std::vector<store::StoredResource> resources);

}  // namespace phrgate::admin
