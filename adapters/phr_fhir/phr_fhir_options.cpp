// Parses a phr_fhir sink's config object (already validated and ${ENV}-expanded against
// schemas/sinks/phr_fhir.schema.json) into PhrFhirOptions, and classifies HTTP statuses.
// Pure: opens no file or socket. Error texts carry JSON paths, never secrets.
#include <rapidjson/document.h>

#include <stdexcept>

#include "adapters/phr_fhir/phr_fhir_sink.h"

namespace phrgate::phr_fhir {
namespace {

bool get_bool(const rapidjson::Value& obj, const char* key, bool fallback) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : fallback;
}

}  // namespace

bool is_permanent_rejection(int status) {
  // 401/403 (credentials), 408 (timeout), 425, 429 (rate limit) are worth retrying.
  if (status < 400 || status >= 500) return false;
  return status != 401 && status != 403 && status != 408 && status != 425 && status != 429;
}

PhrFhirOptions parse_phr_fhir_options(const config::AdapterConfig& cfg, const std::string& data_dir) {
  if (!cfg.options || !cfg.options->IsObject()) throw std::runtime_error(cfg.path + ": must be an object");
  const rapidjson::Value& o = *cfg.options;
  PhrFhirOptions out;
  out.client.base_url = config::get_string(o, "url", "");
  if (out.client.base_url.empty()) throw std::runtime_error(cfg.path + ".url: required");
  out.client.ca_file = config::get_string(o, "ca_file", "");
  out.client.connect_timeout = std::chrono::milliseconds(config::get_int(o, "connect_timeout_ms", 5000));
  out.client.request_timeout = std::chrono::milliseconds(config::get_int(o, "request_timeout_ms", 30000));
  out.client.user_agent = "phrgate-phr_fhir";
  out.outbox_path = config::get_string(o, "outbox_path", "");
  if (out.outbox_path.empty()) {
    if (data_dir.empty()) throw std::runtime_error(cfg.path + ".outbox_path: required (no data_dir known)");
    out.outbox_path = data_dir + "/phr_fhir-" + cfg.name + ".outbox.db";
  }
  out.max_attempts = static_cast<int>(config::get_int(o, "max_attempts", 0));
  out.parallel_persons = static_cast<int>(config::get_int(o, "parallel_persons", 4));
  if (out.parallel_persons < 1 || out.parallel_persons > 64)
    throw std::runtime_error(cfg.path + ".parallel_persons: must be 1..64");
  out.add_person_patient = get_bool(o, "include_person_patient", true);
  if (auto b = o.FindMember("backoff"); b != o.MemberEnd() && b->value.IsObject()) {
    out.backoff_base = std::chrono::milliseconds(config::get_int(b->value, "base_ms", 1000));
    out.backoff_cap = std::chrono::milliseconds(config::get_int(b->value, "cap_ms", 300000));
  }
  if (out.backoff_base.count() < 1 || out.backoff_cap < out.backoff_base)
    throw std::runtime_error(cfg.path + ".backoff: need 1 <= base_ms <= cap_ms");

  auto& auth = out.client.auth;
  if (auto a = o.FindMember("auth"); a != o.MemberEnd() && a->value.IsObject()) {
    const rapidjson::Value& av = a->value;
    std::string path = cfg.path + ".auth";
    std::string kind = config::get_string(av, "kind", "none");
    if (kind == "none") auth.kind = fhir_client::AuthKind::None;
    else if (kind == "bearer") auth.kind = fhir_client::AuthKind::Bearer;
    else if (kind == "client_credentials") auth.kind = fhir_client::AuthKind::ClientCredentials;
    else if (kind == "smart_backend") auth.kind = fhir_client::AuthKind::SmartBackend;
    else throw std::runtime_error(path + ".kind: unknown auth kind");
    auth.token = config::get_string(av, "token", "");
    auth.token_url = config::get_string(av, "token_url", "");
    auth.client_id = config::get_string(av, "client_id", "");
    auth.client_secret = config::get_string(av, "client_secret", "");
    auth.credentials_in_body = get_bool(av, "credentials_in_body", false);
    auth.scope = config::get_string(av, "scope", "");
    auth.private_key_file = config::get_string(av, "private_key_file", "");
    auth.key_id = config::get_string(av, "key_id", "");
    std::string alg = config::get_string(av, "alg", "RS384");
    if (alg == "RS384") auth.alg = fhir_client::JwtAlg::RS384;
    else if (alg == "ES384") auth.alg = fhir_client::JwtAlg::ES384;
    else throw std::runtime_error(path + ".alg: must be RS384 or ES384");
    if (auth.kind == fhir_client::AuthKind::Bearer && auth.token.empty())
      throw std::runtime_error(path + ".token: required for bearer");
    if ((auth.kind == fhir_client::AuthKind::ClientCredentials || auth.kind == fhir_client::AuthKind::SmartBackend) &&
        (auth.token_url.empty() || auth.client_id.empty()))
      throw std::runtime_error(path + ": token_url and client_id are required");
    if (auth.kind == fhir_client::AuthKind::ClientCredentials && auth.client_secret.empty())
      throw std::runtime_error(path + ".client_secret: required for client_credentials");
    if (auth.kind == fhir_client::AuthKind::SmartBackend && auth.private_key_file.empty())
      throw std::runtime_error(path + ".private_key_file: required for smart_backend");
  }
  return out;
}

}  // namespace phrgate::phr_fhir
