// Request-target decoding and route matching for phrgate_http (see http_routing.h).
// Matching is a linear scan: the admin/FHIR port has tens of routes, not thousands.
// Must never throw on request input: malformed targets are reported as BadPath / false.
#include "gateway/admin/http_routing.h"

#include <algorithm>
#include <stdexcept>

namespace phrgate::http::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into {"a","b","c"}; "/" gives {""}. `path` must start with '/'.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);
  for (;;) {
    std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param_segment(std::string_view s) {
  return s.size() >= 3 && s.front() == '{' && s.back() == '}';
}

// True if route `a` is more specific than `b` (both matched the same path, so both have the
// same number of segments): at the first position where one has a literal and the other a
// parameter, the literal wins.
bool more_specific(const RouteTable::Route& a, const RouteTable::Route& b) {
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    bool pa = a.segments[i].is_param, pb = b.segments[i].is_param;
    if (pa != pb) return !pa;
  }
  return false;
}

bool same_shape(const RouteTable::Route& a, const RouteTable::Route& b) {
  if (a.segments.size() != b.segments.size()) return false;
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    const auto& sa = a.segments[i];
    const auto& sb = b.segments[i];
    if (sa.is_param != sb.is_param) return false;
    if (!sa.is_param && sa.text != sb.text) return false;
  }
  return true;
}

}  // namespace

bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query) {
  query.clear();
  if (target.empty() || target.front() != '/') return false;
  std::size_t qmark = target.find('?');
  if (!percent_decode(target.substr(0, qmark), false, path)) return false;
  if (qmark == std::string_view::npos) return true;

  std::string_view rest = target.substr(qmark + 1);
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view piece = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    std::string key, value;
    if (!percent_decode(piece.substr(0, eq), true, key)) return false;
    if (eq != std::string_view::npos && !percent_decode(piece.substr(eq + 1), true, value))
      return false;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

void RouteTable::add(std::string method, std::string pattern, Role required_role,
                     Handler handler) {
  if (method.empty()) throw std::invalid_argument("http route: empty method");
  if (!handler) throw std::invalid_argument("http route: empty handler");
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("http route: pattern must start with '/': " + pattern);
  Route route;
  route.method = std::move(method);
  route.required_role = required_role;
  route.handler = std::move(handler);
  for (std::string_view seg : split_segments(pattern)) {
    Segment s;
    if (is_param_segment(seg)) {
      s.is_param = true;
      s.text = std::string(seg.substr(1, seg.size() - 2));
      for (const auto& other : route.segments)
        if (other.is_param && other.text == s.text)
          throw std::invalid_argument("http route: repeated parameter in " + pattern);
    } else {
      if (seg.find_first_of("{}?%") != std::string_view::npos)
        throw std::invalid_argument("http route: bad segment in " + pattern);
      s.text = std::string(seg);
    }
    route.segments.push_back(std::move(s));
  }
  route.pattern = std::move(pattern);
  for (const auto& existing : routes_)
    if (existing.method == route.method && same_shape(existing, route))
      throw std::invalid_argument("http route: duplicate route " + route.method + " " +
                                  route.pattern);
  routes_.push_back(std::move(route));
}

RouteTable::Match RouteTable::match(std::string_view method, std::string_view raw_path) const {
  Match result;
  if (raw_path.empty() || raw_path.front() != '/') {
    result.outcome = Outcome::BadPath;
    return result;
  }
  std::vector<std::string_view> raw_segments = split_segments(raw_path);
  std::vector<std::string> decoded(raw_segments.size());
  for (std::size_t i = 0; i < raw_segments.size(); ++i) {
    if (!percent_decode(raw_segments[i], false, decoded[i])) {
      result.outcome = Outcome::BadPath;
      return result;
    }
  }

  const Route* best = nullptr;
  std::vector<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != decoded.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < decoded.size() && ok; ++i) {
      const Segment& seg = route.segments[i];
      ok = seg.is_param ? !decoded[i].empty() : seg.text == decoded[i];
    }
    if (!ok) continue;
    if (route.method != method) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end())
        allowed.push_back(route.method);
      continue;
    }
    if (!best || more_specific(route, *best)) best = &route;
  }

  if (best) {
    result.outcome = Outcome::Found;
    result.route = best;
    for (std::size_t i = 0; i < decoded.size(); ++i)
      if (best->segments[i].is_param) result.params[best->segments[i].text] = std::move(decoded[i]);
    return result;
  }
  if (!allowed.empty()) {
    result.outcome = Outcome::MethodNotAllowed;
    std::sort(allowed.begin(), allowed.end());
    for (std::string_view m : allowed) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += m;
    }
    return result;
  }
  result.outcome = Outcome::NotFound;
  return result;
}

}  // namespace phrgate::http::detail
