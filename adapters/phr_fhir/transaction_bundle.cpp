// Implementation of the phr_fhir transaction Bundle builder (see transaction_bundle.h).
// Resource JSON is parsed once with RapidJSON, edited in place (id removed for conditional
// entries, references rewritten) and written into the Bundle. No PHI reaches error texts.
#include "adapters/phr_fhir/transaction_bundle.h"

#include <map>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/core/resource_id.h"

namespace phrgate::phr_fhir {
namespace {

// Percent-encodes a search value, keeping the characters token search syntax uses.
std::string query_encode(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || c == ':' || c == '/' || c == '|') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

const std::pair<std::string, std::string>* search_identifier(const store::FhirResource& r) {
  for (const auto& id : r.identifiers)
    if (!id.first.empty() && !id.second.empty()) return &id;
  return nullptr;
}

void rewrite_references(rapidjson::Value& v, const std::map<std::string, std::string>& urns,
                        rapidjson::Document::AllocatorType& alloc) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      if (m.value.IsString() && std::string_view(m.name.GetString()) == "reference") {
        auto it = urns.find(std::string(m.value.GetString(), m.value.GetStringLength()));
        if (it != urns.end()) m.value.SetString(it->second.c_str(), static_cast<rapidjson::SizeType>(it->second.size()), alloc);
      } else {
        rewrite_references(m.value, urns, alloc);
      }
    }
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray()) rewrite_references(item, urns, alloc);
  }
}

rapidjson::Value str(const std::string& s, rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value v;
  v.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
  return v;
}

}  // namespace

std::string entry_urn(const std::string& type, const std::string& id) {
  std::string h = sha256_hex(type + "/" + id);
  // 8-4-4-4-12 with the version nibble 5 and the RFC 4122 variant bits.
  std::string u = h.substr(0, 8) + "-" + h.substr(8, 4) + "-5" + h.substr(13, 3) + "-";
  static const char variant[] = "89ab";
  u += variant[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  u += h.substr(17, 3) + "-" + h.substr(20, 12);
  return "urn:uuid:" + u;
}

TransactionBundle build_transaction_bundle(const std::vector<store::FhirResource>& resources,
                                           const store::FhirResource* person_patient) {
  std::vector<const store::FhirResource*> all;
  bool has_patient = false;
  for (const auto& r : resources) {
    all.push_back(&r);
    if (person_patient && r.type == "Patient" && r.id == person_patient->id) has_patient = true;
  }
  bool add_patient = person_patient && !has_patient;
  if (add_patient) all.insert(all.begin(), person_patient);

  // References to entries addressed by identifier are rewritten to their urn.
  std::map<std::string, std::string> urns;
  for (const auto* r : all)
    if (search_identifier(*r)) urns[r->type + "/" + r->id] = entry_urn(r->type, r->id);

  rapidjson::Document bundle(rapidjson::kObjectType);
  auto& alloc = bundle.GetAllocator();
  bundle.AddMember("resourceType", "Bundle", alloc);
  bundle.AddMember("type", "transaction", alloc);
  rapidjson::Value entries(rapidjson::kArrayType);
  for (const auto* r : all) {
    rapidjson::Document parsed(&alloc);
    parsed.Parse(r->json.data(), r->json.size());
    if (parsed.HasParseError() || !parsed.IsObject())
      throw std::runtime_error("resource JSON does not parse (" + r->type + ")");
    parsed.RemoveMember("meta");
    rapidjson::Value request(rapidjson::kObjectType);
    rapidjson::Value entry(rapidjson::kObjectType);
    const auto* ident = search_identifier(*r);
    bool only_if_absent = r->only_if_absent || (add_patient && r == person_patient);
    if (ident) {
      std::string search = "identifier=" + query_encode(ident->first) + "|" + query_encode(ident->second);
      parsed.RemoveMember("id");
      entry.AddMember("fullUrl", str(urns[r->type + "/" + r->id], alloc), alloc);
      if (only_if_absent) {
        request.AddMember("method", "POST", alloc);
        request.AddMember("url", str(r->type, alloc), alloc);
        request.AddMember("ifNoneExist", str(search, alloc), alloc);
      } else {
        request.AddMember("method", "PUT", alloc);
        request.AddMember("url", str(r->type + "?" + search, alloc), alloc);
      }
    } else {
      request.AddMember("method", "PUT", alloc);
      request.AddMember("url", str(r->type + "/" + r->id, alloc), alloc);
    }
    rewrite_references(parsed, urns, alloc);
    rapidjson::Value resource;
    resource.CopyFrom(parsed, alloc);
    entry.AddMember("resource", resource, alloc);
    entry.AddMember("request", request, alloc);
    entries.PushBack(entry, alloc);
  }
  TransactionBundle out;
  out.entries = static_cast<int>(entries.Size());
  bundle.AddMember("entry", entries, alloc);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  bundle.Accept(w);
  out.json.assign(buf.GetString(), buf.GetSize());
  return out;
}

}  // namespace phrgate::phr_fhir
