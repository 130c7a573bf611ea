// Small pieces the person index's HTTP handlers share (identity_routes.cpp, claim_routes.cpp):
// JSON writing and answers, the JSON object body, integer path and query parameters, the
// acting token's name. Internal to gateway/identity; no logging, no PHI handling of its own.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/admin/http_server.h"

namespace phrgate::identity::http_util {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put(JsonWriter& w, const char* key, std::string_view value);
void put_int(JsonWriter& w, const char* key, int64_t value);
http::Response json_response(int status, const rapidjson::StringBuffer& buf);

// The body as a JSON object; nullopt (and a 400 OperationOutcome in `error`) otherwise.
std::optional<rapidjson::Document> object_body(const http::Request& req, http::Response& error);
// A string member's value; "" when absent or not a string.
std::string string_member(const rapidjson::Document& d, const char* key);
// The token's name, "operator" when the server gave none.
std::string actor_of(const http::Request& req);

// `text` as an integer >= minimum (digits only); nullopt otherwise.
std::optional<int64_t> int_at_least(std::string_view text, int64_t minimum);
// The {id} path parameter as an id (>= 1).
std::optional<int64_t> path_id(const http::Request& req);
// Query parameter `key` as an integer >= 0, `fallback` when absent; nullopt when malformed.
std::optional<int64_t> count_param(const http::Request& req, std::string_view key, int64_t fallback);

}  // namespace phrgate::identity::http_util
