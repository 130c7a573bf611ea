// Internal to phrgate_http: request-target decoding (path, query) and the route table that
// maps (method, path) to a handler. Pure string code, no sockets and no Beast, so it is
// unit-testable. It must never log or echo the path or the query (they can hold PHI).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/admin/http_server.h"
#include "gateway/admin/http_types.h"

namespace phrgate::http::detail {

// Percent-decodes `in` into `out` (cleared first); with `plus_is_space`, '+' becomes ' '
// (query strings). Returns false on a malformed escape ('%' not followed by two hex digits).
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out);

// Splits an origin-form request target ("/path?query") into the decoded path and the decoded
// query parameters (order and repeated keys kept; empty pieces skipped). Returns false when
// the target is not origin-form or holds a malformed escape.
bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query);

class RouteTable {
 public:
  struct Segment {
    std::string text;  // the literal, or the parameter name
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;  // as registered, e.g. "/fhir/{type}/{id}" (safe to log)
    std::vector<Segment> segments;
    Role required_role = Role::None;
    Handler handler;
  };

  enum class Outcome { Found, NotFound, MethodNotAllowed, BadPath };
  struct Match {
    Outcome outcome = Outcome::NotFound;
    const Route* route = nullptr;                  // when Found
    std::map<std::string, std::string> params;     // when Found
    std::string allow;                             // when MethodNotAllowed: "GET, POST"
  };

  // Throws std::invalid_argument on a malformed pattern, an empty method, or a route that
  // duplicates an existing one (same method, same literals and params in the same places).
  void add(std::string method, std::string pattern, Role required_role, Handler handler);

  // Matches the raw (still percent-encoded) path of a request target, without the query.
  // Segments are decoded one by one, so "%2F" inside a segment stays inside the parameter.
  Match match(std::string_view method, std::string_view raw_path) const;

  std::size_t size() const { return routes_.size(); }

 private:
  std::vector<Route> routes_;
};

}  // namespace phrgate::http::detail
