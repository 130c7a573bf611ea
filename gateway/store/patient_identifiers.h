// Editing a stored Patient's identifier list (JSON "identifier" array and the search index
// pairs together), for identity changes: a merge adds the merged person's identifiers to the
// surviving Patient, an unlink removes one. Used by the PHR store and the identity linker.
// Pure functions over JSON text; they never log.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace phrgate::store {

using IdentifierPairs = std::vector<std::pair<std::string, std::string>>;  // (system, value)

// Appends every (system, value) of `add` not yet in `index` to the Patient JSON and to `index`.
// Returns false (and changes nothing) when nothing was missing or the JSON is not an object.
bool add_patient_identifiers(std::string& patient_json, IdentifierPairs& index, const IdentifierPairs& add);

// Removes every identifier equal to (system, value) from the JSON and `index`. Returns whether
// something was removed.
bool remove_patient_identifier(std::string& patient_json, IdentifierPairs& index, const std::string& system,
                               const std::string& value);

}  // namespace phrgate::store
