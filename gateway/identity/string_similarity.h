// String comparison primitives for patient matching: Soundex, NYSIIS, Jaro and Jaro–Winkler,
// and a Damerau (adjacent transposition) edit distance. Used by the record comparator and the
// blocking keys of the person index. Inputs are expected already normalised (upper-case A–Z;
// other characters are ignored by the phonetic codes). Pure functions, no allocation beyond
// the returned strings; they never log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace phrgate::identity {

// American Soundex: first letter + three digits ("ROBERT" -> "R163"); "" for no letters.
std::string soundex(std::string_view name);

// NYSIIS (New York State Identification and Intelligence System) phonetic key, not truncated
// ("KNIGHT" and "NIGHT" -> "NAGT"); "" for no letters.
std::string nysiis(std::string_view name);

// Jaro similarity in [0, 1]; 1 for two equal strings, 0 when either is empty.
double jaro(std::string_view a, std::string_view b);

// Jaro–Winkler with prefix scale 0.1 over at most 4 common leading characters
// ("MARTHA"/"MARHTA" -> 0.961).
double jaro_winkler(std::string_view a, std::string_view b);

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
// of adjacent characters each cost 1 ("1985-03-12" vs "1958-03-12" -> 1). Stops counting
// at `cap` + 1 (returns cap + 1 when the distance exceeds cap) to stay cheap on long inputs.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap = 8);

}  // namespace phrgate::identity
