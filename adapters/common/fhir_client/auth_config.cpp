// Implementation of auth_config_from_json (see auth_config.h).
#include "adapters/common/fhir_client/auth_config.h"

#include <stdexcept>

#include "gateway/core/config.h"

namespace phrgate::fhir_client {

AuthConfig auth_config_from_json(const rapidjson::Value& a, const std::string& path) {
  AuthConfig auth;
  const std::string kind = config::get_string(a, "kind", "none");
  if (kind == "none") auth.kind = AuthKind::None;
  else if (kind == "bearer") auth.kind = AuthKind::Bearer;
  else if (kind == "client_credentials") auth.kind = AuthKind::ClientCredentials;
  else if (kind == "smart_backend") auth.kind = AuthKind::SmartBackend;
  else throw std::runtime_error(path + ".kind: unknown auth kind");
  auth.token = config::get_string(a, "token", "");
  auth.token_url = config::get_string(a, "token_url", "");
  auth.client_id = config::get_string(a, "client_id", "");
  auth.client_secret = config::get_string(a, "client_secret", "");
  auth.credentials_in_body = config::get_bool(a, "credentials_in_body", false);
  auth.scope = config::get_string(a, "scope", "");
  auth.private_key_file = config::get_string(a, "private_key_file", "");
  auth.key_id = config::get_string(a, "key_id", "");
  const std::string alg = config::get_string(a, "alg", "RS384");
  if (alg == "RS384") auth.alg = JwtAlg::RS384;
  else if (alg == "ES384") auth.alg = JwtAlg::ES384;
  else throw std::runtime_error(path + ".alg: must be RS384 or ES384");
  if (auth.kind == AuthKind::Bearer && auth.token.empty())
    throw std::runtime_error(path + ".token: required for bearer");
  if ((auth.kind == AuthKind::ClientCredentials || auth.kind == AuthKind::SmartBackend) &&
      (auth.token_url.empty() || auth.client_id.empty()))
    throw std::runtime_error(path + ": token_url and client_id are required for " + kind);
  if (auth.kind == AuthKind::ClientCredentials && auth.client_secret.empty())
    throw std::runtime_error(path + ".client_secret: required for client_credentials");
  if (auth.kind == AuthKind::SmartBackend && auth.private_key_file.empty())
    throw std::runtime_error(path + ".private_key_file: required for smart_backend");
  return auth;
}

}  // namespace phrgate::fhir_client
