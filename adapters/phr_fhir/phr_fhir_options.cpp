// Parses a phr_fhir sink's config object (already validated and ${ENV}-expanded against
// schemas/sinks/phr_fhir.schema.json) into PhrFhirOptions, and classifies HTTP statuses.
// Pure: opens no file or socket. Error texts carry JSON paths, never secrets.
#include <rapidjson/document.h>

#include <stdexcept>

#include "adapters/common/fhir_client/auth_config.h"
#include "adapters/phr_fhir/phr_fhir_sink.h"
#include "gateway/core/config.h"

namespace phrgate::phr_fhir {
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
  out.add_person_patient = config::get_bool(o, "include_person_patient", true);
  if (auto b = o.FindMember("backoff"); b != o.MemberEnd() && b->value.IsObject()) {
    out.backoff_base = std::chrono::milliseconds(config::get_int(b->value, "base_ms", 1000));
    out.backoff_cap = std::chrono::milliseconds(config::get_int(b->value, "cap_ms", 300000));
  }
  if (out.backoff_base.count() < 1 || out.backoff_cap < out.backoff_base)
    throw std::runtime_error(cfg.path + ".backoff: need 1 <= base_ms <= cap_ms");

  if (auto a = o.FindMember("auth"); a != o.MemberEnd() && a->value.IsObject())
    out.client.auth = fhir_client::auth_config_from_json(a->value, cfg.path + ".auth");
  return out;
}

}  // namespace phrgate::phr_fhir
