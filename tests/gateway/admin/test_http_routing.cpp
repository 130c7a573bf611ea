// Unit tests for the HTTP server's pure parts: percent-decoding, request-target splitting and
// route matching (specificity, 405 Allow list, duplicate and malformed patterns). No I/O.
#include <catch2/catch.hpp>

#include "gateway/admin/http_routing.h"

using phrgate::http::Request;
using phrgate::http::Response;
using phrgate::http::Role;
using phrgate::http::detail::parse_target;
using phrgate::http::detail::percent_decode;
using phrgate::http::detail::RouteTable;

namespace {
Response ok(const Request&) { return {}; }
}  // namespace

TEST_CASE("percent_decode handles escapes, '+' and malformed input", "[http][unit]") {
  std::string out;
  CHECK(percent_decode("a%20b%7Cc", false, out));
  CHECK(out == "a b|c");
  CHECK(percent_decode("a+b", true, out));
  CHECK(out == "a b");
  CHECK(percent_decode("a+b", false, out));
  CHECK(out == "a+b");
  CHECK(percent_decode("%e2%82%AC", false, out));
  CHECK(out == "\xE2\x82\xAC");
  CHECK_FALSE(percent_decode("%", false, out));
  CHECK_FALSE(percent_decode("abc%4", false, out));
  CHECK_FALSE(percent_decode("%x1", false, out));
}

TEST_CASE("parse_target splits path and query", "[http][unit]") {
  std::string path;
  std::vector<std::pair<std::string, std::string>> q;
  REQUIRE(parse_target("/fhir/Patient?identifier=urn%3Aoid%3A1%7C42&_count=10&flag", path, q));
  CHECK(path == "/fhir/Patient");
  REQUIRE(q.size() == 3);
  CHECK(q[0] == std::make_pair(std::string("identifier"), std::string("urn:oid:1|42")));
  CHECK(q[1] == std::make_pair(std::string("_count"), std::string("10")));
  CHECK(q[2] == std::make_pair(std::string("flag"), std::string()));
  REQUIRE(parse_target("/x?a=1=2&&a=b+c", path, q));
  REQUIRE(q.size() == 2);
  CHECK(q[0].second == "1=2");
  CHECK(q[1].second == "b c");
  CHECK_FALSE(parse_target("http://host/x", path, q));
  CHECK_FALSE(parse_target("", path, q));
  CHECK_FALSE(parse_target("/x?a=%ZZ", path, q));
}

TEST_CASE("RouteTable picks the most specific match and reports 405 methods", "[http][unit]") {
  RouteTable t;
  t.add("GET", "/fhir/{type}/{id}", Role::Reader, ok);
  t.add("GET", "/fhir/Patient/{id}", Role::Reader, ok);
  t.add("GET", "/fhir/{type}/_history", Role::Reader, ok);
  t.add("PUT", "/fhir/{type}/{id}", Role::Operator, ok);
  t.add("GET", "/", Role::None, ok);

  auto m = t.match("GET", "/fhir/Patient/p1");
  REQUIRE(m.outcome == RouteTable::Outcome::Found);
  CHECK(m.route->pattern == "/fhir/Patient/{id}");
  CHECK(m.params.at("id") == "p1");

  m = t.match("GET", "/fhir/Observation/_history");
  REQUIRE(m.outcome == RouteTable::Outcome::Found);
  CHECK(m.route->pattern == "/fhir/{type}/_history");

  // Literal at the first differing segment wins: Patient beats {type}.
  m = t.match("GET", "/fhir/Patient/_history");
  REQUIRE(m.outcome == RouteTable::Outcome::Found);
  CHECK(m.route->pattern == "/fhir/Patient/{id}");

  m = t.match("PUT", "/fhir/Patient/p1");  // only the generic route has PUT
  REQUIRE(m.outcome == RouteTable::Outcome::Found);
  CHECK(m.route->pattern == "/fhir/{type}/{id}");
  CHECK(m.route->required_role == Role::Operator);

  m = t.match("DELETE", "/fhir/Patient/p1");
  CHECK(m.outcome == RouteTable::Outcome::MethodNotAllowed);
  CHECK(m.allow == "GET, PUT");

  CHECK(t.match("GET", "/fhir/Patient").outcome == RouteTable::Outcome::NotFound);
  CHECK(t.match("GET", "/fhir/Patient/").outcome == RouteTable::Outcome::NotFound);  // empty param
  CHECK(t.match("GET", "/").outcome == RouteTable::Outcome::Found);
  CHECK(t.match("GET", "/fhir/Patient/%zz").outcome == RouteTable::Outcome::BadPath);
}

TEST_CASE("RouteTable rejects malformed and duplicate patterns", "[http][unit]") {
  RouteTable t;
  t.add("GET", "/a/{x}", Role::None, ok);
  CHECK_THROWS_AS(t.add("GET", "/a/{y}", Role::None, ok), std::invalid_argument);
  CHECK_NOTHROW(t.add("POST", "/a/{y}", Role::None, ok));
  CHECK_THROWS_AS(t.add("GET", "no-slash", Role::None, ok), std::invalid_argument);
  CHECK_THROWS_AS(t.add("GET", "/a/{x}/{x}", Role::None, ok), std::invalid_argument);
  CHECK_THROWS_AS(t.add("GET", "/a/b{c}", Role::None, ok), std::invalid_argument);
  CHECK_THROWS_AS(t.add("", "/z", Role::None, ok), std::invalid_argument);
  CHECK_THROWS_AS(t.add("GET", "/z", Role::None, nullptr), std::invalid_argument);
}
