// Plan of care / plan of treatment, goals and notes: planned acts (moodCode INT, RQO, PRP,
// ARQ, PRMS, APT) -> ServiceRequest, planned medications -> MedicationRequest, goal
// observations -> Goal, and one CarePlan per section naming them; Note Activities (in any
// section) -> DocumentReference with the note text as an attachment.
#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

bool planned_mood(std::string_view mood) {
  return mood == "INT" || mood == "RQO" || mood == "PRP" || mood == "ARQ" || mood == "PRMS" || mood == "APT";
}

std::string_view request_status(std::string_view code) {
  if (code == "active" || code == "new") return "active";
  if (code == "completed") return "completed";
  if (code == "cancelled" || code == "aborted") return "revoked";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

std::string service_request(Context& c, const xmlNode* n) {
  const xmlNode* code = child(n, "code");
  const std::string text = referenced_text(c, child(n, "text"));
  if (!cd_present(c, code) && text.empty()) return {};
  const std::string requester = participant_ref(c, child(n, "author"));
  const std::string id = c.entry_id("ServiceRequest", n);
  const std::string r = c.ref("ServiceRequest", id);
  if (!c.begin("ServiceRequest", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, n, &index);
  c.str_if("status", request_status(attr(child(n, "statusCode"), "code")));
  const std::string_view mood = attr(n, "moodCode");
  c.str_if("intent", mood == "RQO" || mood == "ARQ" || mood == "APT" ? "order" : mood == "PRP" ? "proposal" : "plan");
  if (xml::attr_true(n, "negationInd")) {
    c.key("doNotPerform");
    c.w().Bool(true);
  }
  if (!codeable_concept_if(c, "code", code)) {
    c.key("code");
    c.w().StartObject();
    c.str_if("text", text);
    c.w().EndObject();
  }
  c.subject();
  if (!c.encounter_ref.empty()) c.reference("encounter", c.encounter_ref);
  effective_if(c, "occurrence", child(n, "effectiveTime"));
  time_if(c, "authoredOn", attr(xml::path(n, {"author", "time"}), "value"));
  if (!requester.empty()) c.reference("requester", requester);
  if (!text.empty() && cd_present(c, code)) {
    c.key("note");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("text", text);
    c.w().EndObject();
    c.w().EndArray();
  }
  c.finish(std::move(index));
  return r;
}

std::string goal(Context& c, const xmlNode* obs) {
  const xmlNode* code = child(obs, "code");
  const xmlNode* value = child(obs, "value");
  const std::string_view vtype = xml::xsi_type(value);
  const bool coded_value = (vtype == "CD" || vtype == "CE" || vtype == "CO") && cd_present(c, value);
  const std::string text = referenced_text(c, child(obs, "text"));
  if (!coded_value && !cd_present(c, code) && text.empty()) return {};
  const std::string who = participant_ref(c, child(obs, "author"));
  const std::string id = c.entry_id("Goal", obs);
  const std::string r = c.ref("Goal", id);
  if (!c.begin("Goal", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, obs, &index);
  const std::string_view status = attr(child(obs, "statusCode"), "code");
  c.str_if("lifecycleStatus", status == "completed" ? "completed" : status == "cancelled" ? "cancelled"
                              : status == "suspended" ? "on-hold" : "active");
  if (coded_value) {
    c.key("description");
    codeable_concept(c, value);
  } else if (!codeable_concept_if(c, "description", code)) {
    c.key("description");
    c.w().StartObject();
    c.str_if("text", text);
    c.w().EndObject();
  }
  c.subject();
  std::string_view start = attr(xml::path(obs, {"effectiveTime", "low"}), "value");
  if (start.empty()) start = attr(child(obs, "effectiveTime"), "value");
  time_if(c, "startDate", start, TimeKind::Date);
  if (vtype == "PQ" && cd_present(c, code)) {
    c.key("target");
    c.w().StartArray();
    c.w().StartObject();
    c.key("measure");
    codeable_concept(c, code);
    quantity_if(c, "detailQuantity", value);
    c.w().EndObject();
    c.w().EndArray();
  }
  if (!who.empty()) c.reference("expressedBy", who);
  c.finish(std::move(index));
  return r;
}

}  // namespace

bool convert_plan_entry(Context& c, const xmlNode* n, std::vector<std::string>& activities,
                        std::vector<std::string>& goals) {
  const std::string_view mood = attr(n, "moodCode");
  if (xml::is(n, "observation") && (mood == "GOL" || xml::has_template(n, "2.16.840.1.113883.10.20.22.4.121"))) {
    std::string r = goal(c, n);
    if (r.empty()) return false;
    goals.push_back(std::move(r));
    return true;
  }
  if (!planned_mood(mood)) return false;
  if (xml::is(n, "substanceAdministration")) {
    const std::string id = c.entry_id("MedicationRequest", n);
    if (!convert_medication(c, n)) return false;
    activities.push_back(c.ref("MedicationRequest", id));
    return true;
  }
  if (xml::is(n, "act") || xml::is(n, "observation") || xml::is(n, "procedure") || xml::is(n, "encounter") ||
      xml::is(n, "supply")) {
    std::string r = service_request(c, n);
    if (r.empty()) return false;
    activities.push_back(std::move(r));
    return true;
  }
  return false;
}

void write_care_plan(Context& c, const xmlNode* section, const std::vector<std::string>& activities,
                     const std::vector<std::string>& goals) {
  std::string key;
  for (const xmlNode* t : children(section, "templateId")) key.append(attr(t, "root")).push_back(';');
  key.append(attr(child(section, "code"), "code"));
  if (!c.begin("CarePlan", derive_resource_id("CarePlan", {c.set_key, "section", key}))) return;
  c.str_if("status", "active");
  c.str_if("intent", "plan");
  c.key("category");
  c.w().StartArray();
  c.codeable_value("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan", {});
  c.w().EndArray();
  c.str_if("title", xml::text_of(child(section, "title")));
  c.subject();
  if (!c.encounter_ref.empty()) c.reference("encounter", c.encounter_ref);
  if (!goals.empty()) {
    c.key("goal");
    c.w().StartArray();
    for (const auto& g : goals) {
      c.w().StartObject();
      c.str_if("reference", g);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  if (!activities.empty()) {
    c.key("activity");
    c.w().StartArray();
    for (const auto& a : activities) {
      c.w().StartObject();
      c.reference("reference", a);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  c.finish();
}

bool convert_note(Context& c, const xmlNode* act) {
  if (!xml::is(act, "act")) return false;
  const xmlNode* text = child(act, "text");
  std::string data;
  std::string_view media = attr(text, "mediaType");
  if (attr(text, "representation") == "B64") {
    for (const char ch : xml::text_of(text))
      if (ch != ' ') data.push_back(ch);
  } else {
    const std::string plain = referenced_text(c, text);
    if (!plain.empty()) data = base64(plain);
    media = "text/plain";
  }
  if (data.empty()) return false;
  if (media.empty()) media = "text/plain";
  std::vector<std::string> authors;
  for (const xmlNode* a : children(act, "author"))
    if (std::string r = participant_ref(c, a); !r.empty()) authors.push_back(std::move(r));
  const std::string id = c.entry_id("DocumentReference", act);
  if (!c.begin("DocumentReference", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, act, &index);
  c.str_if("status", xml::attr_true(act, "negationInd") ? "entered-in-error" : "current");
  codeable_concept_or_absent(c, "type", child(act, "code"));
  c.key("category");
  c.w().StartArray();
  c.codeable_value("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note",
                   "Clinical Note");
  c.w().EndArray();
  c.subject();
  std::string_view when = attr(xml::path(act, {"author", "time"}), "value");
  if (when.empty()) when = point_time(child(act, "effectiveTime"));
  time_if(c, "date", when, TimeKind::Instant);
  if (!authors.empty()) {
    c.key("author");
    c.w().StartArray();
    for (const auto& a : authors) {
      c.w().StartObject();
      c.str_if("reference", a);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  c.key("content");
  c.w().StartArray();
  c.w().StartObject();
  c.key("attachment");
  c.w().StartObject();
  c.str_if("contentType", media);
  c.str_if("data", data);
  c.w().EndObject();
  c.w().EndObject();
  c.w().EndArray();
  document_context_if(c, child(act, "effectiveTime"));
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
