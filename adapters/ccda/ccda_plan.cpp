// Plan of care / plan of treatment, goals, referrals and notes: planned acts (moodCode INT,
// RQO, PRP, ARQ, PRMS, APT) -> ServiceRequest, planned medications -> MedicationRequest, goal
// observations -> Goal (priority from the Priority Preference), completed acts (handoff
// communication) -> Communication, the observations attached to each (preferences...) ->
// Observations with focus on it, and one CarePlan per section naming them; Note Activities
// (in any section) -> DocumentReference with the note text as an attachment.
#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kPriorityPreference = "2.16.840.1.113883.10.20.22.4.143";
constexpr std::string_view kIndication = "2.16.840.1.113883.10.20.22.4.19";
constexpr std::string_view kGoalObservation = "2.16.840.1.113883.10.20.22.4.121";
constexpr std::string_view kHandoffCommunication = "2.16.840.1.113883.10.20.22.4.141";
constexpr std::string_view kEntryReference = "2.16.840.1.113883.10.20.22.4.122";
constexpr std::string_view kPlannedCoverage = "2.16.840.1.113883.10.20.22.4.129";
constexpr int kMaxNesting = 4;

// The resource a nested statement was found under (empty for a section entry).
struct Parent {
  std::string_view ref;
  bool request = false;  // a ServiceRequest / MedicationRequest (basedOn may name it)
};

bool has_usable_id(const xmlNode* n) {
  for (const xmlNode* id : children(n, "id"))
    if (!xml::has_null_flavor(id) && !attr(id, "root").empty()) return true;
  return false;
}

// An id-less nested statement is told apart by its parent, so the same text under two
// interventions yields two resources, each linked to its own parent.
std::string_view id_salt(const xmlNode* n, const Parent& parent) {
  return has_usable_id(n) ? std::string_view{} : parent.ref;
}

void reference_array(Context& c, std::string_view k, std::string_view ref) {
  c.key(k);
  c.w().StartArray();
  c.w().StartObject();
  c.str_if("reference", ref);
  c.w().EndObject();
  c.w().EndArray();
}

bool planned_mood(std::string_view mood) {
  return mood == "INT" || mood == "RQO" || mood == "PRP" || mood == "ARQ" || mood == "PRMS" || mood == "APT";
}

std::string_view request_status(std::string_view code) {
  if (code == "active") return "active";
  if (code == "new") return "draft";  // ActStatus new: still being prepared
  if (code == "completed") return "completed";
  if (code == "cancelled" || code == "aborted") return "revoked";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

std::string service_request(Context& c, const xmlNode* n, const Parent& parent) {
  const xmlNode* code = child(n, "code");
  const std::string text = referenced_text(c, child(n, "text"));
  if (!cd_present(c, code) && text.empty()) return {};
  const std::string requester = participant_ref(c, child(n, "author"));
  const std::vector<std::string> insurance = write_planned_coverages(c, n);
  const std::string id = c.entry_id("ServiceRequest", n, id_salt(n, parent));
  const std::string r = c.ref("ServiceRequest", id);
  if (!c.begin("ServiceRequest", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, n, &index);
  if (parent.request) reference_array(c, "basedOn", parent.ref);
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
  if (!effective_if(c, "occurrence", child(n, "effectiveTime")))
    time_if(c, "occurrenceDateTime", point_time(child(n, "effectiveTime")));  // e.g. <center>
  time_if(c, "authoredOn", attr(xml::path(n, {"author", "time"}), "value"));
  if (!requester.empty()) c.reference("requester", requester);
  if (!insurance.empty()) {
    c.key("insurance");
    c.w().StartArray();
    for (const auto& coverage : insurance) {
      c.w().StartObject();
      c.str_if("reference", coverage);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
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
  for (const xmlNode* er : children(obs, "entryRelationship")) {
    const xmlNode* pref = child(er, "observation");
    if (xml::has_template(pref, kPriorityPreference) && codeable_concept_if(c, "priority", child(pref, "value"))) break;
  }
  c.subject();
  std::string_view start = attr(xml::path(obs, {"effectiveTime", "low"}), "value");
  if (start.empty()) start = attr(child(obs, "effectiveTime"), "value");
  time_if(c, "startDate", start, TimeKind::Date);
  std::string probe;
  const bool range = vtype == "IVL_PQ" && (fhir_decimal(attr(child(value, "low"), "value"), probe) ||
                                           fhir_decimal(attr(child(value, "high"), "value"), probe));
  if ((vtype == "PQ" || range) && cd_present(c, code)) {
    c.key("target");
    c.w().StartArray();
    c.w().StartObject();
    c.key("measure");
    codeable_concept(c, code);
    if (range) {
      c.key("detailRange");
      c.w().StartObject();
      quantity_if(c, "low", child(value, "low"));
      quantity_if(c, "high", child(value, "high"));
      c.w().EndObject();
    } else {
      quantity_if(c, "detailQuantity", value);
    }
    c.w().EndObject();
    c.w().EndArray();
  }
  if (!who.empty()) c.reference("expressedBy", who);
  c.finish(std::move(index));
  return r;
}

// A completed act in a plan (Handoff Communication 22.4.141) -> Communication.
std::string communication(Context& c, const xmlNode* act, const Parent& parent) {
  const xmlNode* code = child(act, "code");
  if (!cd_present(c, code)) return {};
  const std::string sender = participant_ref(c, child(act, "author"));
  const std::string id = c.entry_id("Communication", act, id_salt(act, parent));
  const std::string r = c.ref("Communication", id);
  if (!c.begin("Communication", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, act, &index);
  if (!parent.ref.empty()) reference_array(c, parent.request ? "basedOn" : "partOf", parent.ref);
  const std::string_view status = attr(child(act, "statusCode"), "code");
  c.str_if("status", status == "active" ? "in-progress" : status == "aborted" || status == "cancelled" ? "stopped"
                     : status == "suspended" || status == "held" ? "on-hold"
                     : status == "nullified" ? "entered-in-error" : "completed");
  codeable_concept_list_if(c, "category", code);
  c.subject();
  if (!c.encounter_ref.empty()) c.reference("encounter", c.encounter_ref);
  time_if(c, "sent", point_time(child(act, "effectiveTime")));
  if (!sender.empty()) c.reference("sender", sender);
  c.finish(std::move(index));
  return r;
}

bool plan_statement(Context& c, const xmlNode* n, std::vector<std::string>& activities,
                    std::vector<std::string>& goals, int depth, const Parent& parent);

// The clinical statements under `n`'s entryRelationships (the parts of an Intervention Act,
// a planned procedure's education act...), each converted like an entry of the section.
// Observations of events are left to write_related_observations(); entry references and
// planned coverage (no FHIR request resource fits) are skipped.
void nested_statements(Context& c, const xmlNode* n, std::vector<std::string>& activities,
                       std::vector<std::string>& goals, int depth, const Parent& parent) {
  if (depth >= kMaxNesting) return;
  for (const xmlNode* er : children(n, "entryRelationship")) {
    for (const xmlNode* st : children(er, {})) {
      if (xml::ns_of(st) != kHl7V3Ns || xml::is(st, "supply") || xml::has_template(st, kEntryReference) ||
          xml::has_template(st, kPlannedCoverage))
        continue;
      const std::string_view mood = attr(st, "moodCode");
      if (xml::is(st, "observation") && (mood == "EVN" || mood.empty())) continue;
      plan_statement(c, st, activities, goals, depth + 1, parent);
    }
  }
}

bool plan_statement(Context& c, const xmlNode* n, std::vector<std::string>& activities,
                    std::vector<std::string>& goals, int depth, const Parent& parent) {
  const std::string_view mood = attr(n, "moodCode");
  std::string r;
  bool medication = false, request = false;
  if (xml::is(n, "observation") && (mood == "GOL" || xml::has_template(n, kGoalObservation))) {
    r = goal(c, n);
    if (!r.empty()) goals.push_back(r);
  } else if (mood == "EVN" || mood.empty()) {
    // Events are not planned activities: CarePlan.activity.reference cannot name them.
    if (xml::is(n, "act") && xml::has_template(n, kHandoffCommunication)) {
      r = communication(c, n, parent);
    } else if (xml::is(n, "act") || xml::is(n, "procedure")) {
      const std::string id = c.entry_id("Procedure", n);
      if (convert_procedure(c, n)) r = c.ref("Procedure", id);
    }
  } else if (!planned_mood(mood)) {
    return false;
  } else if (xml::is(n, "substanceAdministration")) {
    const std::string id = c.entry_id("MedicationRequest", n);
    if (convert_medication(c, n)) r = c.ref("MedicationRequest", id);
    if (!r.empty()) activities.push_back(r);
    medication = request = true;
  } else if (xml::is(n, "act") || xml::is(n, "observation") || xml::is(n, "procedure") || xml::is(n, "encounter") ||
             xml::is(n, "supply")) {
    r = service_request(c, n, parent);
    if (!r.empty()) activities.push_back(r);
    request = true;
  }
  if (r.empty()) return false;
  if (medication) write_related_observations(c, n, r, {kIndication});  // indication: reasonCode
  else write_related_observations(c, n, r);
  Parent self;
  self.ref = r;
  self.request = request;
  nested_statements(c, n, activities, goals, depth, self);
  return true;
}

}  // namespace

bool convert_plan_entry(Context& c, const xmlNode* n, std::vector<std::string>& activities,
                        std::vector<std::string>& goals) {
  return plan_statement(c, n, activities, goals, 0, Parent{});
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
