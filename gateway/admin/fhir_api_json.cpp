// JSON documents of the FHIR read API (see fhir_api_json.h): OperationOutcome, searchset
// Bundle, CapabilityStatement, plus link encoding and HTTP dates. Stored resources go into
// bundles through Writer::RawValue: they are never parsed or re-serialized here.
#include "gateway/admin/fhir_api_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>

namespace phrgate::admin::detail {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void key(JsonWriter& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

std::string take(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The R4 SearchParameter behind each type's "patient" parameter.
std::string_view patient_param_definition(std::string_view type) {
  if (type == "Provenance") return "http://hl7.org/fhir/SearchParameter/Provenance-patient";
  if (type == "Coverage") return "http://hl7.org/fhir/SearchParameter/Coverage-patient";
  if (type == "RelatedPerson") return "http://hl7.org/fhir/SearchParameter/RelatedPerson-patient";
  if (type == "Appointment") return "http://hl7.org/fhir/SearchParameter/Appointment-patient";
  return "http://hl7.org/fhir/SearchParameter/clinical-patient";
}

// In the order of the CapabilityStatement.
constexpr std::string_view kOwnedTypes[] = {
    "Observation",       "Encounter",   "DiagnosticReport",        "Provenance",
    "AllergyIntolerance", "Condition",  "Immunization",            "MedicationRequest",
    "Procedure",         "ServiceRequest", "DocumentReference",    "Coverage",
    "RelatedPerson",     "Appointment", "MedicationAdministration"};

void write_interactions(JsonWriter& w) {
  key(w, "interaction");
  w.StartArray();
  for (std::string_view code : {"read", "search-type"}) {
    w.StartObject();
    put(w, "code", code);
    w.EndObject();
  }
  w.EndArray();
  put(w, "versioning", "versioned");
  key(w, "readHistory");
  w.Bool(false);
}

void write_search_param(JsonWriter& w, std::string_view name, std::string_view definition,
                        std::string_view type) {
  key(w, "searchParam");
  w.StartArray();
  w.StartObject();
  put(w, "name", name);
  put(w, "definition", definition);
  put(w, "type", type);
  w.EndObject();
  w.EndArray();
}

}  // namespace

bool is_person_owned_type(std::string_view type) {
  for (auto t : kOwnedTypes)
    if (t == type) return true;
  return false;
}

http::Response fhir_response(int status, std::string body) {
  http::Response res;
  res.status = status;
  res.content_type = std::string(kFhirJsonContentType);
  res.body = std::move(body);
  return res;
}

http::Response fhir_error(int status, std::string_view code, std::string_view diagnostics) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  put(w, "resourceType", "OperationOutcome");
  key(w, "issue");
  w.StartArray();
  w.StartObject();
  put(w, "severity", "error");
  put(w, "code", code);
  if (!diagnostics.empty()) put(w, "diagnostics", diagnostics);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return fhir_response(status, take(buffer));
}

std::string searchset_bundle(const store::SearchPage& page, const std::vector<BundleLink>& links,
                             std::string_view full_url_prefix) {
  std::size_t estimate = 256;
  for (const auto& r : page.resources) estimate += r.json.size() + 128;
  rapidjson::StringBuffer buffer(nullptr, estimate);
  JsonWriter w(buffer);
  w.StartObject();
  put(w, "resourceType", "Bundle");
  put(w, "type", "searchset");
  key(w, "total");
  w.Int64(page.total);
  key(w, "link");
  w.StartArray();
  for (const auto& link : links) {
    w.StartObject();
    put(w, "relation", link.relation);
    put(w, "url", link.url);
    w.EndObject();
  }
  w.EndArray();
  if (!page.resources.empty()) {
    key(w, "entry");
    w.StartArray();
    std::string full_url;
    for (const auto& r : page.resources) {
      full_url.assign(full_url_prefix);
      full_url.append(r.type).append("/").append(r.id);
      w.StartObject();
      put(w, "fullUrl", full_url);
      key(w, "resource");
      w.RawValue(r.json.data(), r.json.size(), rapidjson::kObjectType);
      key(w, "search");
      w.StartObject();
      put(w, "mode", "match");
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return take(buffer);
}

std::string capability_statement(const FhirReadApiOptions& options, std::string_view date) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  put(w, "resourceType", "CapabilityStatement");
  put(w, "status", "active");
  put(w, "date", date);
  put(w, "publisher", "phrgate");
  put(w, "kind", "instance");
  key(w, "software");
  w.StartObject();
  put(w, "name", "phrgate");
  if (!options.software_version.empty()) put(w, "version", options.software_version);
  w.EndObject();
  key(w, "implementation");
  w.StartObject();
  put(w, "description", "phrgate embedded PHR store (read-only FHIR API)");
  if (!options.base_url_hint.empty()) put(w, "url", options.base_url_hint);
  w.EndObject();
  put(w, "fhirVersion", "4.0.1");
  key(w, "format");
  w.StartArray();
  w.String("json");
  w.EndArray();

  key(w, "rest");
  w.StartArray();
  w.StartObject();
  put(w, "mode", "server");
  key(w, "security");
  w.StartObject();
  key(w, "service");
  w.StartArray();
  w.StartObject();
  put(w, "text", "Bearer token");
  w.EndObject();
  w.EndArray();
  put(w, "description",
      "Requests carry an API token issued by the gateway's operator in the HTTP header "
      "'Authorization: Bearer <token>'.");
  w.EndObject();

  key(w, "resource");
  w.StartArray();
  w.StartObject();  // Patient
  put(w, "type", "Patient");
  write_interactions(w);
  write_search_param(w, "identifier", "http://hl7.org/fhir/SearchParameter/Patient-identifier",
                     "token");
  key(w, "operation");
  w.StartArray();
  w.StartObject();
  put(w, "name", "everything");
  put(w, "definition", "http://hl7.org/fhir/OperationDefinition/Patient-everything");
  put(w, "documentation",
      "Parameters: _count, _offset, and _dedup=true|false (default false). With _dedup=true the "
      "same clinical fact recorded more than once (an AllergyIntolerance, Immunization or "
      "Observation with the same code, value and time, from one source or several) is "
      "presented once: the earliest-stored resource, carrying one extension "
      "https://phrgate.invalid/fhir/StructureDefinition/duplicate-of-same-fact "
      "(valueReference) per other record of the fact; the others are left out and every "
      "Provenance is kept. total and paging count the presented entries.");
  w.EndObject();
  w.EndArray();
  w.EndObject();
  for (std::string_view type : kOwnedTypes) {
    w.StartObject();
    put(w, "type", type);
    write_interactions(w);
    write_search_param(w, "patient", patient_param_definition(type), "reference");
    w.EndObject();
  }
  w.EndArray();  // resource
  w.EndObject();
  w.EndArray();  // rest
  w.EndObject();
  return take(buffer);
}

void append_percent_encoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
}

std::string http_date_from_instant(std::string_view instant) {
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  const std::string text(instant.substr(0, 19));
  if (text.size() != 19 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) !=
          6)
    return {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);  // normalizes and fills tm_wday
  std::tm norm{};
  gmtime_r(&t, &norm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[96];  // sized for any int values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[norm.tm_wday],
                norm.tm_mday, kMonths[norm.tm_mon], norm.tm_year + 1900, norm.tm_hour,
                norm.tm_min, norm.tm_sec);
  return buf;
}

}  // namespace phrgate::admin::detail
