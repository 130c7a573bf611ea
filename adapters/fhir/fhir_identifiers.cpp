// Identifier and coding normalization for the FHIR intake (see fhir_identifiers.h). Mirrors
// adapters/hl7v2/hl7v2_datatypes.cpp identifier_system(), whose rules it must keep matching:
// tests/adapters/fhir checks that the same MRN gives the same person id from both formats.
#include "adapters/fhir/fhir_identifiers.h"

#include "adapters/fhir/fhir_json_doc.h"
#include "gateway/mapping/code_map.h"

namespace phrgate::fhir {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::string_view kV2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_urn_part(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
}

const mapping::MappedCode* lookup(const IdentifierContext& c, std::string_view table, std::string_view code) {
  return c.code_maps ? c.code_maps->lookup(table, code, c.source) : nullptr;
}

std::string assigner_system(const IdentifierContext& c, std::string_view name) {
  if (const auto* m = lookup(c, "assigning-authority", name); m && !m->system.empty()) return std::string(m->system);
  std::string out = "urn:phrgate:assigner:";
  append_urn_part(out, name);
  return out;
}

bool is_mr(const rapidjson::Value& identifier) {
  const rapidjson::Value* type = member(identifier, "type");
  const rapidjson::Value* codings = type ? member(*type, "coding") : nullptr;
  if (!codings || !codings->IsArray()) return false;
  for (const auto& coding : codings->GetArray()) {
    const std::string_view system = string_member(coding, "system");
    if (string_member(coding, "code") == "MR" && (system.empty() || system == kV2_0203)) return true;
  }
  return false;
}

void set_string(rapidjson::Value& obj, std::string_view key, std::string_view value,
                rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value v(value.data(), static_cast<rapidjson::SizeType>(value.size()), alloc);
  if (rapidjson::Value* existing = member(obj, key)) {
    *existing = std::move(v);
  } else {
    obj.AddMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), alloc), std::move(v),
                  alloc);
  }
}

void normalize_coding_array(const IdentifierContext& c, rapidjson::Value& codings,
                            rapidjson::Document::AllocatorType& alloc) {
  std::vector<rapidjson::Value> added;
  for (auto& coding : codings.GetArray()) {
    if (!coding.IsObject()) continue;
    const std::string_view system = string_member(coding, "system");
    if (system.substr(0, 8) == "urn:oid:") {
      if (const auto* m = lookup(c, "oid", system.substr(8)); m && !m->system.empty())
        set_string(coding, "system", m->system, alloc);
    }
    const std::string_view code = string_member(coding, "code");
    if (!c.code_maps || code.empty()) continue;
    const auto* m = lookup(c, string_member(coding, "system"), code);
    if (!m || m->code.empty() || m->system.empty()) continue;
    bool present = false;
    for (const auto& other : codings.GetArray())
      present |= string_member(other, "system") == m->system && string_member(other, "code") == m->code;
    for (const auto& other : added)
      present |= string_member(other, "system") == m->system && string_member(other, "code") == m->code;
    if (present) continue;
    rapidjson::Value target(rapidjson::kObjectType);
    set_string(target, "system", m->system, alloc);
    set_string(target, "code", m->code, alloc);
    if (!m->display.empty()) set_string(target, "display", m->display, alloc);
    added.push_back(std::move(target));
  }
  if (added.empty()) return;
  rapidjson::Value merged(rapidjson::kArrayType);
  for (auto& a : added) merged.PushBack(std::move(a), alloc);
  for (auto& old : codings.GetArray()) merged.PushBack(std::move(old), alloc);
  codings = std::move(merged);
}

}  // namespace

std::string normalize_identifier_system(const IdentifierContext& c, std::string_view system) {
  system = trim(system);
  if (system.empty()) return assigner_system(c, c.source);
  if (system.substr(0, 8) == "urn:oid:") {
    if (const auto* m = lookup(c, "oid", system.substr(8)); m && !m->system.empty()) return std::string(m->system);
    return std::string(system);
  }
  if (system.substr(0, 9) == "urn:uuid:") {
    std::string out(system);
    for (std::size_t i = 9; i < out.size(); ++i)
      if (out[i] >= 'A' && out[i] <= 'F') out[i] = static_cast<char>(out[i] + 32);
    return out;
  }
  if (system.find(':') != std::string_view::npos) return std::string(system);
  return assigner_system(c, system);
}

bool patient_key_identifier(const IdentifierContext& c, const rapidjson::Value& patient, std::string& system,
                            std::string& value) {
  const rapidjson::Value* ids = member(patient, "identifier");
  if (!ids || !ids->IsArray()) return false;
  const rapidjson::Value* chosen = nullptr;
  for (const auto& id : ids->GetArray()) {
    if (trim(string_member(id, "value")).empty()) continue;
    if (!chosen) chosen = &id;
    if (is_mr(id)) {
      chosen = &id;
      break;
    }
  }
  if (!chosen) return false;
  value.assign(trim(string_member(*chosen, "value")));
  system = normalize_identifier_system(c, string_member(*chosen, "system"));
  return true;
}

std::vector<std::pair<std::string, std::string>> normalize_identifiers(const IdentifierContext& c,
                                                                       rapidjson::Value& resource,
                                                                       rapidjson::Document::AllocatorType& alloc) {
  std::vector<std::pair<std::string, std::string>> index;
  rapidjson::Value* ids = member(resource, "identifier");
  if (!ids) return index;
  auto one = [&](rapidjson::Value& id) {
    if (!id.IsObject()) return;
    const std::string_view value = trim(string_member(id, "value"));
    if (value.empty()) return;
    std::string system = normalize_identifier_system(c, string_member(id, "system"));
    set_string(id, "system", system, alloc);
    index.emplace_back(std::move(system), std::string(value));
  };
  if (ids->IsArray()) {
    for (auto& id : ids->GetArray()) one(id);
  } else {
    one(*ids);
  }
  return index;
}

void normalize_codings(const IdentifierContext& c, rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc,
                       int depth) {
  if (depth > 64) return;  // the validator refused deeper documents already
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (view(it->name) == "coding" && it->value.IsArray())
        normalize_coding_array(c, it->value, alloc);
      else if (it->value.IsObject() || it->value.IsArray())
        normalize_codings(c, it->value, alloc, depth + 1);
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) normalize_codings(c, e, alloc, depth + 1);
  }
}

}  // namespace phrgate::fhir
