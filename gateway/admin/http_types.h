// Plain request/response types for phrgate's HTTP port. The Beast server converts to and
// from these, so route handlers (FHIR read API, metrics, admin API) never include Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phrgate::http {

struct Request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as received, e.g. "/fhir/Patient?identifier=x%7Cy"
  std::string path;     // percent-decoded path without the query, e.g. "/fhir/Patient"
  // Query parameters in order, percent-decoded ('+' is a space); repeated keys kept.
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;
  std::string peer;  // "127.0.0.1:54321", for logs
  // Values of the route pattern's {name} segments, percent-decoded, e.g. {"id": "abc"}.
  std::map<std::string, std::string> path_params;
  // Name of the API token that authenticated this request; empty on public routes.
  std::string principal;

  // First value of query parameter `key`, or nullptr.
  const std::string* param(std::string_view key) const {
    for (const auto& [k, v] : query)
      if (k == key) return &v;
    return nullptr;
  }
  // Value of path parameter `name` (from the route pattern), or nullptr.
  const std::string* path_param(std::string_view name) const {
    auto it = path_params.find(std::string(name));
    return it == path_params.end() ? nullptr : &it->second;
  }
  const std::string* header(std::string_view lower_key) const {
    auto it = headers.find(std::string(lower_key));
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// A route handler runs on an I/O thread; it must not block for long (SQLite reads are fine).
using Handler = std::function<Response(const Request&)>;

}  // namespace phrgate::http
