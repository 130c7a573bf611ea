// Implementation of the AuditEvent export (see audit_event_fhir.h).
#include "gateway/audit/audit_event_fhir.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

#include "gateway/core/resource_id.h"

namespace phrgate::audit {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr const char* kRestful = "http://hl7.org/fhir/restful-interaction";
constexpr const char* kSourceType = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr const char* kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr const char* kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr const char* kActionSystem = "urn:phrgate:audit-action";
constexpr const char* kTokenSystem = "urn:phrgate:api-token";
constexpr const char* kMessageSystem = "urn:phrgate:inbox-message";

void str(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void coding(JsonWriter& w, const char* system, std::string_view code, std::string_view display) {
  w.StartObject();
  str(w, "system", system);
  str(w, "code", code);
  if (!display.empty()) str(w, "display", display);
  w.EndObject();
}

// restful-interaction code of an action.
const char* interaction(std::string_view action) {
  if (action == "read") return "read";
  if (action == "search") return "search-type";
  return "operation";  // $everything and the gateway's own operations (replay, link, ...)
}

// audit-event-action: C create, R read, U update, D delete, E execute.
const char* event_action(std::string_view action) {
  if (action == "read" || action == "everything" || action == "audit-query" || action == "audit-export") return "R";
  if (action == "discard") return "D";
  if (action == "link" || action == "unlink" || action == "merge") return "U";
  return "E";  // search, replay, reload
}

// audit-event-outcome: 0 success, 4 minor failure (refused), 8 serious failure (error).
const char* event_outcome(std::string_view outcome) {
  if (outcome == "success") return "0";
  if (outcome == "error") return "8";
  return "4";
}

bool is_fhir_type(std::string_view t) { return !t.empty() && t[0] >= 'A' && t[0] <= 'Z'; }

// "127.0.0.1:5432" -> "127.0.0.1"; "[::1]:5432" -> "::1".
std::string_view host_of(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    auto close = peer.find(']');
    return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
  }
  auto colon = peer.rfind(':');
  return colon == std::string_view::npos || peer.find(':') != colon ? peer : peer.substr(0, colon);
}

void write_event(JsonWriter& w, const StoredAuditRecord& s, const std::string& observer) {
  const AuditRecord& r = s.record;
  w.StartObject();
  str(w, "resourceType", "AuditEvent");
  str(w, "id", "audit-" + std::to_string(s.id));
  w.Key("type");
  coding(w, kEventType, "rest", "RESTful Operation");
  w.Key("subtype");
  w.StartArray();
  coding(w, kRestful, interaction(r.action), "");
  coding(w, kActionSystem, r.action, "");
  w.EndArray();
  str(w, "action", event_action(r.action));
  str(w, "recorded", iso_instant(r.at_ms));
  str(w, "outcome", event_outcome(r.outcome));
  if (r.outcome != "success") str(w, "outcomeDesc", r.outcome);

  w.Key("agent");
  w.StartArray();
  w.StartObject();
  if (!r.role.empty()) {
    w.Key("role");
    w.StartArray();
    w.StartObject();
    str(w, "text", r.role);
    w.EndObject();
    w.EndArray();
  }
  w.Key("who");
  w.StartObject();
  w.Key("identifier");
  w.StartObject();
  str(w, "system", kTokenSystem);
  str(w, "value", r.actor.empty() ? "anonymous" : r.actor);
  w.EndObject();
  str(w, "display", r.actor.empty() ? "anonymous" : r.actor);
  w.EndObject();
  str(w, "name", r.actor.empty() ? "anonymous" : r.actor);
  w.Key("requestor");
  w.Bool(true);
  if (!r.client.empty()) {
    w.Key("network");
    w.StartObject();
    str(w, "address", host_of(r.client));
    str(w, "type", "2");  // IP address
    w.EndObject();
  }
  w.EndObject();
  w.EndArray();

  w.Key("source");
  w.StartObject();
  w.Key("observer");
  w.StartObject();
  str(w, "display", observer);
  w.EndObject();
  w.Key("type");
  w.StartArray();
  coding(w, kSourceType, "4", "Application Server");
  w.EndArray();
  w.EndObject();

  const bool target_is_patient = r.target_type == "Patient" && r.target_id == r.person_id;
  const bool has_target = !r.target_type.empty() && !r.target_id.empty() && !target_is_patient;
  const bool has_detail = r.detail_json != "{}" && !r.detail_json.empty();
  if (!r.person_id.empty() || has_target || has_detail) {
    w.Key("entity");
    w.StartArray();
    if (!r.person_id.empty()) {
      w.StartObject();
      w.Key("what");
      w.StartObject();
      str(w, "reference", "Patient/" + r.person_id);
      w.EndObject();
      w.Key("type");
      coding(w, kEntityType, "1", "Person");
      w.Key("role");
      coding(w, kObjectRole, "1", "Patient");
      w.EndObject();
    }
    if (has_target || has_detail) {
      w.StartObject();
      if (has_target) {
        w.Key("what");
        w.StartObject();
        if (is_fhir_type(r.target_type)) {
          str(w, "reference", r.target_type + "/" + r.target_id);
        } else {
          w.Key("identifier");
          w.StartObject();
          str(w, "system", r.target_type == "message" ? kMessageSystem : "urn:phrgate:" + r.target_type);
          str(w, "value", r.target_id);
          w.EndObject();
        }
        w.EndObject();
      }
      w.Key("type");
      coding(w, kEntityType, "2", "System Object");
      if (has_detail) {
        w.Key("detail");
        w.StartArray();
        w.StartObject();
        str(w, "type", "phrgate-detail");
        str(w, "valueString", r.detail_json);
        w.EndObject();
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

std::string audit_event_json(const StoredAuditRecord& r, const std::string& observer) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_event(w, r, observer);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string audit_event_bundle(const std::vector<StoredAuditRecord>& records, const std::string& observer,
                               const std::string& timestamp, const std::string& next_url) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  str(w, "resourceType", "Bundle");
  str(w, "type", "collection");
  str(w, "timestamp", timestamp);
  if (!next_url.empty()) {
    w.Key("link");
    w.StartArray();
    w.StartObject();
    str(w, "relation", "next");
    str(w, "url", next_url);
    w.EndObject();
    w.EndArray();
  }
  if (!records.empty()) {  // FHIR JSON never holds an empty array
    w.Key("entry");
    w.StartArray();
    for (const auto& r : records) {
      w.StartObject();
      // A stable urn:uuid: per (gateway, record), so a re-export names the same event.
      str(w, "fullUrl", "urn:uuid:" + derive_resource_id("AuditEvent", {observer, std::to_string(r.id)}));
      w.Key("resource");
      write_event(w, r, observer);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace phrgate::audit
