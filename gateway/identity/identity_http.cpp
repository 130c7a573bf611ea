// Implementation of the identity handlers' shared pieces (see identity_http.h).
#include "gateway/identity/identity_http.h"

#include <charconv>

namespace phrgate::identity::http_util {

void put(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put_int(JsonWriter& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

http::Response json_response(int status, const rapidjson::StringBuffer& buf) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

std::optional<rapidjson::Document> object_body(const http::Request& req, http::Response& error) {
  rapidjson::Document d;
  d.Parse(req.body.c_str(), req.body.size());
  if (d.HasParseError() || !d.IsObject()) {
    error = http::operation_outcome(400, "invalid", "The body must be a JSON object");
    return std::nullopt;
  }
  return d;
}

std::string string_member(const rapidjson::Document& d, const char* key) {
  auto it = d.FindMember(key);
  if (it == d.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string actor_of(const http::Request& req) { return req.principal.empty() ? std::string("operator") : req.principal; }

std::optional<int64_t> int_at_least(std::string_view text, int64_t minimum) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < minimum) return std::nullopt;
  return v;
}

std::optional<int64_t> path_id(const http::Request& req) { return int_at_least(req.path_params.at("id"), 1); }

std::optional<int64_t> count_param(const http::Request& req, std::string_view key, int64_t fallback) {
  const std::string* v = req.param(key);
  return v ? int_at_least(*v, 0) : std::optional<int64_t>(fallback);
}

}  // namespace phrgate::identity::http_util
