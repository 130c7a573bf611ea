// Reads a source's or sink's "auth" config object (kind none | bearer | client_credentials |
// smart_backend, with token, token_url, client_id, client_secret, credentials_in_body, scope,
// private_key_file, key_id, alg) into an AuthConfig, so the FHIR polling source and the
// phr_fhir sink accept the same settings. Errors name the JSON path and never echo secrets.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "adapters/common/fhir_client/fhir_http_client.h"

namespace phrgate::fhir_client {

// Throws std::runtime_error ("<path>.<key>: ...") for an unknown kind or algorithm, or a
// setting the kind requires that is missing.
AuthConfig auth_config_from_json(const rapidjson::Value& auth, const std::string& path);

}  // namespace phrgate::fhir_client
