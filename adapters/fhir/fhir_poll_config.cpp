// fhir_poll options -> FhirPollConfig (see fhir_poll_source.h and
// schemas/sources/fhir_poll.schema.json). Pure: no files, no sockets.
#include <stdexcept>

#include "adapters/fhir/fhir_poll_source.h"

#include "adapters/common/fhir_client/auth_config.h"
#include "adapters/fhir/fhir_resource_types.h"
#include "gateway/core/resource_id.h"

namespace phrgate::fhir {
FhirPollConfig parse_fhir_poll_config(const config::AdapterConfig& cfg) {
  const rapidjson::Value& o = *cfg.options;
  FhirPollConfig c;
  c.name = cfg.name;
  c.client.base_url = config::get_string(o, "base_url", "");
  if (c.client.base_url.rfind("http://", 0) != 0 && c.client.base_url.rfind("https://", 0) != 0)
    throw std::runtime_error(cfg.path + ".base_url: must be an http:// or https:// URL");
  while (!c.client.base_url.empty() && c.client.base_url.back() == '/') c.client.base_url.pop_back();
  c.client.ca_file = config::get_string(o, "ca_file", "");
  c.client.request_timeout = std::chrono::milliseconds(config::get_int(o, "request_timeout_ms", 30000));
  c.client.user_agent = "phrgate fhir_poll";
  if (auto a = o.FindMember("auth"); a != o.MemberEnd() && a->value.IsObject())
    c.client.auth = fhir_client::auth_config_from_json(a->value, cfg.path + ".auth");
  if (auto t = o.FindMember("resource_types"); t != o.MemberEnd() && t->value.IsArray()) {
    std::size_t i = 0;
    for (const auto& v : t->value.GetArray()) {
      const std::string type = v.IsString() ? v.GetString() : "";
      if (!is_r4_resource_type(type) || is_dropped_resource_type(type))
        throw std::runtime_error(cfg.path + ".resource_types[" + std::to_string(i) +
                                 "]: not a FHIR R4 resource type the PHR keeps");
      for (const auto& seen : c.resource_types)
        if (seen == type) throw std::runtime_error(cfg.path + ".resource_types[" + std::to_string(i) + "]: listed twice");
      c.resource_types.push_back(type);
      ++i;
    }
  }
  if (c.resource_types.empty()) throw std::runtime_error(cfg.path + ".resource_types: must list at least one type");
  if (auto p = o.FindMember("patients"); p != o.MemberEnd() && p->value.IsArray()) {
    std::size_t i = 0;
    for (const auto& v : p->value.GetArray()) {
      const std::string where = cfg.path + ".patients[" + std::to_string(i++) + "]";
      FhirPollPatient patient;
      patient.id = config::get_string(v, "id", "");
      patient.identifier = config::get_string(v, "identifier", "");
      if (patient.id.empty() == patient.identifier.empty())
        throw std::runtime_error(where + ": give exactly one of id or identifier");
      if (!patient.id.empty() && !is_fhir_id(patient.id)) throw std::runtime_error(where + ".id: not a FHIR id");
      if (!patient.identifier.empty() && patient.identifier.find('|') == std::string::npos)
        throw std::runtime_error(where + ".identifier: must be system|value");
      c.patients.push_back(std::move(patient));
    }
  }
  c.group = config::get_string(o, "group", "");
  if (!c.group.empty() && !is_fhir_id(c.group)) throw std::runtime_error(cfg.path + ".group: not a FHIR id");
  if (c.patients.empty() && c.group.empty())
    throw std::runtime_error(cfg.path + ": give patients or group (whom to poll)");
  c.state_path = config::get_string(o, "state_path", "");
  c.interval = std::chrono::seconds(config::get_int(o, "interval_seconds", 300));
  c.page_size = static_cast<int>(config::get_int(o, "page_size", 100));
  c.max_attempts = static_cast<int>(config::get_int(o, "max_attempts", 5));
  c.backoff_initial = std::chrono::milliseconds(config::get_int(o, "backoff_initial_ms", 1000));
  c.backoff_max = std::chrono::milliseconds(config::get_int(o, "backoff_max_ms", 60000));
  if (c.interval.count() < 1 || c.page_size < 1 || c.max_attempts < 1 || c.backoff_initial.count() < 1 ||
      c.backoff_max < c.backoff_initial)
    throw std::runtime_error(cfg.path + ": interval_seconds, page_size, max_attempts and backoff_*_ms must be positive"
                                        " (backoff_max_ms >= backoff_initial_ms)");
  return c;
}

}  // namespace phrgate::fhir
