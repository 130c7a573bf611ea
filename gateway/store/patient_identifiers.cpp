// Implementation of the Patient identifier edits (see patient_identifiers.h), with RapidJSON.
#include "gateway/store/patient_identifiers.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace phrgate::store {
namespace {

bool parse(const std::string& json, rapidjson::Document& doc) {
  doc.Parse(json.c_str(), json.size());
  return !doc.HasParseError() && doc.IsObject();
}

void serialize(const rapidjson::Document& doc, std::string& out) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  out.assign(buf.GetString(), buf.GetSize());
}

bool same(const rapidjson::Value& id, const std::string& system, const std::string& value) {
  return id.IsObject() && id.HasMember("value") && id["value"].IsString() && value == id["value"].GetString() &&
         (id.HasMember("system") && id["system"].IsString() ? system == id["system"].GetString() : system.empty());
}

}  // namespace

bool add_patient_identifiers(std::string& patient_json, IdentifierPairs& index, const IdentifierPairs& add) {
  IdentifierPairs missing;
  for (const auto& p : add)
    if (!p.second.empty() && std::find(index.begin(), index.end(), p) == index.end() &&
        std::find(missing.begin(), missing.end(), p) == missing.end())
      missing.push_back(p);
  if (missing.empty()) return false;
  rapidjson::Document doc;
  if (!parse(patient_json, doc)) return false;
  auto& alloc = doc.GetAllocator();
  if (!doc.HasMember("identifier") || !doc["identifier"].IsArray())
    doc.AddMember("identifier", rapidjson::Value(rapidjson::kArrayType), alloc);
  auto& list = doc["identifier"];
  for (const auto& [system, value] : missing) {
    rapidjson::Value entry(rapidjson::kObjectType);
    if (!system.empty()) entry.AddMember("system", rapidjson::Value(system.c_str(), alloc), alloc);
    entry.AddMember("value", rapidjson::Value(value.c_str(), alloc), alloc);
    list.PushBack(entry, alloc);
    index.emplace_back(system, value);
  }
  serialize(doc, patient_json);
  return true;
}

bool remove_patient_identifier(std::string& patient_json, IdentifierPairs& index, const std::string& system,
                               const std::string& value) {
  rapidjson::Document doc;
  if (!parse(patient_json, doc) || !doc.HasMember("identifier") || !doc["identifier"].IsArray()) return false;
  auto& list = doc["identifier"];
  bool removed = false;
  for (auto it = list.Begin(); it != list.End();) {
    if (same(*it, system, value)) {
      it = list.Erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  if (!removed) return false;
  if (list.Empty()) doc.RemoveMember("identifier");  // FHIR forbids empty arrays
  index.erase(std::remove(index.begin(), index.end(), std::make_pair(system, value)), index.end());
  serialize(doc, patient_json);
  return true;
}

}  // namespace phrgate::store
