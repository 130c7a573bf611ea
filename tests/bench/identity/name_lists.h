// Name, street and city lists for the synthetic identity population (see name_lists.cpp).
// Most frequent first. Used only by tests/bench/identity/population.cpp.
#pragma once

#include <string_view>
#include <vector>

namespace phrgate::identity::bench {

extern const std::vector<std::string_view> kSurnames, kMaleGiven, kFemaleGiven;
extern const std::vector<std::string_view> kSurnameStarts, kSurnameEnds, kGivenStarts, kGivenEnds;
extern const std::vector<std::string_view> kStreets, kStreetTypes, kCities, kEmailDomains;

}  // namespace phrgate::identity::bench
