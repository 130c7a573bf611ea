// Validates a JSON config document against phrgate's JSON Schemas (schemas/*.json) and
// expands ${NAME} / ${NAME:-default} environment references, in one walk, reporting every
// error with its JSON path ("$.sources[0].port: ..."). Pure: no files, no sockets; the
// environment is read through a lookup function so tests can supply their own.
// Supported schema keywords (a subset of draft-07, enough for our schemas): type, properties,
// required, additionalProperties (bool or schema), items, enum, const, minimum, maximum,
// minLength, maxLength, minItems, maxItems, pattern, $ref ("#/definitions/..."), description,
// default, title, $schema, $id, examples.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace phrgate::config {

struct ConfigError {
  std::string path;     // "$.http.port"
  std::string message;  // "must be an integer between 0 and 65535"
  std::string to_string() const { return path + ": " + message; }
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Expands ${NAME} and ${NAME:-default} inside `text`. Returns false (with `error`) when a
// variable is unset without a default or the syntax is broken. "$$" is a literal "$".
bool expand_env(std::string_view text, const EnvLookup& env, std::string& out, std::string& error);

// Walks `doc` (modified in place: strings expanded; a string that came entirely from one
// ${...} reference becomes an integer, number or boolean where the schema asks for one)
// and validates it against `schema`. `root_schema` resolves $ref. Appends errors.
void validate_and_expand(rapidjson::Value& doc, rapidjson::Document::AllocatorType& alloc,
                         const rapidjson::Value& schema, const rapidjson::Value& root_schema,
                         const EnvLookup& env, const std::string& path,
                         std::vector<ConfigError>& errors);

// "/sources/0/port" style helpers for building child paths.
std::string child_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, std::size_t index);

}  // namespace phrgate::config
