// UCUM syntax check for the unit codes in the mapping tables (target_system
// http://unitsofmeasure.org): the UCUM grammar plus a compact table of unit atoms and prefixes.
// Used by the mapping table checks (code_map_check.h), so a malformed unit never loads.
// It checks spelling only: it never converts units or judges whether a unit suits a test.
#pragma once

#include <string>
#include <string_view>

namespace phrgate::mapping {

// Empty when `code` is a valid case-sensitive UCUM code; otherwise one sentence saying what is
// wrong and where (1-based character position), e.g. "unknown unit 'mmHg' (did you mean mm[Hg]?)".
// Deliberately stricter than the grammar in one place: a bare "10*" or "10^" (no exponent) is
// rejected as a truncated power of ten. Allocates only when it reports an error.
std::string ucum_syntax_error(std::string_view code);

inline bool is_valid_ucum(std::string_view code) { return ucum_syntax_error(code).empty(); }

}  // namespace phrgate::mapping
