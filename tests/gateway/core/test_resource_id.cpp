// Units for gateway/core/resource_id: the deterministic id format (name-based, version 5
// nibble, RFC 4122 variant), values fixed by an independent computation (Python hashlib over
// the documented byte stream: each part as a 4-byte big-endian length and its bytes), and
// ResourceIdPrefix giving exactly the ids derive_resource_id gives, for short, empty and
// long parts.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/core/resource_id.h"

using phrgate::derive_resource_id;
using phrgate::ResourceIdPrefix;

TEST_CASE("resource ids are SHA-256 of length-prefixed parts, shaped as version 5 UUIDs", "[resource_id]") {
  // Expected values computed outside phrgate (hashlib), from the byte stream the header documents.
  CHECK(derive_resource_id("Observation", {"urn:oid:1.2.3", "ORD-1", "3"}) == "0f02679e-3dd8-5376-84ae-9f040d408481");
  const std::string long_part(600, 'x');
  CHECK(derive_resource_id("Patient", {"", long_part}) == "cf8c47d0-619f-56a1-8d0c-328f271f90ac");
  const std::string id = derive_resource_id("Condition", {"a"});
  REQUIRE(id.size() == 36);
  CHECK(id[14] == '5');
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);
  // Part boundaries matter: ("ab","c") and ("a","bc") differ.
  CHECK(derive_resource_id("T", {"ab", "c"}) != derive_resource_id("T", {"a", "bc"}));
}

TEST_CASE("ResourceIdPrefix gives the same ids as derive_resource_id", "[resource_id]") {
  const std::string long_part(700, 'y');
  const ResourceIdPrefix order("Observation", {"urn:oid:1.2.3", "ORD-1"});
  for (const char* n : {"1", "2", "10", ""})
    CHECK(order.id({n}) == derive_resource_id("Observation", {"urn:oid:1.2.3", "ORD-1", n}));
  CHECK(order.id({long_part, "z"}) == derive_resource_id("Observation", {"urn:oid:1.2.3", "ORD-1", long_part, "z"}));
  const ResourceIdPrefix long_prefix("Patient", {long_part});
  CHECK(long_prefix.id({"a"}) == derive_resource_id("Patient", {long_part, "a"}));
  CHECK(long_prefix.id({}) == derive_resource_id("Patient", {long_part}));
}
