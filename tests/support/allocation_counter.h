// Counts heap allocations of the whole program, for benchmarks and tests that must prove
// "no allocation on this path" rather than assume it. Linking the phrgate_allocation_counter
// object library replaces the global operator new/delete with counting versions.
#pragma once

#include <cstdint>

namespace phrgate::testing {

// Allocations (operator new, every form but the aligned ones) since the program started.
std::uint64_t allocation_count();

}  // namespace phrgate::testing
