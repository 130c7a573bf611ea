// Implementation of transaction Bundle assembly (see bundle.h). Resource JSON is embedded
// as-is (RawValue), never re-parsed.
#include "gateway/pipeline/bundle.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace phrgate::pipeline {

void append_transaction_bundle(std::string& out, const std::vector<store::FhirResource>& resources) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("resourceType");
  w.String("Bundle");
  w.Key("type");
  w.String("transaction");
  w.Key("entry");
  w.StartArray();
  std::string url;
  for (const auto& r : resources) {
    w.StartObject();
    url = "urn:uuid:" + r.id;
    w.Key("fullUrl");
    w.String(url.c_str(), static_cast<rapidjson::SizeType>(url.size()));
    w.Key("resource");
    w.RawValue(r.json.data(), r.json.size(), rapidjson::kObjectType);
    w.Key("request");
    w.StartObject();
    w.Key("method");
    w.String("PUT");
    url = r.type + "/" + r.id;
    w.Key("url");
    w.String(url.c_str(), static_cast<rapidjson::SizeType>(url.size()));
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out.append(buf.GetString(), buf.GetSize());
}

}  // namespace phrgate::pipeline
