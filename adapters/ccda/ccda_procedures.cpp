// Procedures and encounters: procedure / act / observation procedure entries -> Procedure
// (status, code, performed time, body site, performers, reasons, devices used as usedCode;
// medication activities in these sections go to the medication converter); encounter activities ->
// Encounter (class from an ActCode translation, else data-absent; type, period, location,
// performers) with their encounter diagnoses as Conditions (category encounter-diagnosis).
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

std::string_view procedure_status(std::string_view code, bool negated) {
  if (negated) return "not-done";
  if (code == "completed") return "completed";
  if (code == "active") return "in-progress";
  if (code == "aborted") return "stopped";
  if (code == "cancelled") return "not-done";
  if (code == "new") return "preparation";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

void actor_list(Context& c, std::string_view k, std::string_view actor_key, const std::vector<std::string>& refs) {
  if (refs.empty()) return;
  c.key(k);
  c.w().StartArray();
  for (const auto& r : refs) {
    c.w().StartObject();
    c.reference(actor_key, r);
    c.w().EndObject();
  }
  c.w().EndArray();
}

std::vector<std::string> performer_refs(Context& c, const xmlNode* n) {
  std::vector<std::string> out;
  for (const xmlNode* p : children(n, "performer"))
    if (std::string r = participant_ref(c, p); !r.empty()) out.push_back(std::move(r));
  return out;
}

std::string location_name(const xmlNode* n) {
  for (const xmlNode* p : children(n, "participant")) {
    if (attr(p, "typeCode") != "LOC") continue;
    const xmlNode* role = child(p, "participantRole");
    std::string name = xml::text_of(xml::path(role, {"playingEntity", "name"}));
    if (name.empty()) name = xml::text_of(xml::path(role, {"addr"}));
    if (!name.empty()) return name;
  }
  return {};
}

// Procedure.usedCode: the codes of the devices used (participant DEV, or a Product Instance
// whatever its typeCode: senders also list them as LOC).
void used_codes(Context& c, const xmlNode* node) {
  bool open = false;
  for (const xmlNode* p : children(node, "participant")) {
    if (attr(p, "typeCode") != "DEV" &&
        !xml::has_template(child(p, "participantRole"), "2.16.840.1.113883.10.20.22.4.37"))
      continue;
    const xmlNode* code = xml::path(p, {"participantRole", "playingDevice", "code"});
    if (!cd_present(c, code)) continue;
    if (!open) {
      c.key("usedCode");
      c.w().StartArray();
      open = true;
    }
    codeable_concept(c, code);
  }
  if (open) c.w().EndArray();
}

}  // namespace

bool convert_procedure(Context& c, const xmlNode* node) {
  // Sections of procedures (anesthesia, procedure notes) also list medication activities.
  if (xml::is(node, "substanceAdministration")) return convert_medication(c, node);
  if (!(xml::is(node, "procedure") || xml::is(node, "act") || xml::is(node, "observation"))) return false;
  const std::string_view mood = attr(node, "moodCode");
  if (!mood.empty() && mood != "EVN") return false;  // planned: plan of care
  const xmlNode* code = child(node, "code");
  if (!cd_present(c, code)) return false;
  const std::vector<std::string> who = performer_refs(c, node);
  const std::vector<std::string> indications = write_indications(c, node);
  const std::string id = c.entry_id("Procedure", node);
  if (!c.begin("Procedure", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, node, &index);
  c.str_if("status", procedure_status(attr(child(node, "statusCode"), "code"), xml::attr_true(node, "negationInd")));
  c.key("code");
  codeable_concept(c, code);
  c.subject();
  if (!c.encounter_ref.empty()) c.reference("encounter", c.encounter_ref);
  effective_if(c, "performed", child(node, "effectiveTime"));
  actor_list(c, "performer", "actor", who);
  const std::string place = location_name(node);
  if (!place.empty()) {
    c.key("location");
    c.w().StartObject();
    c.str_if("display", place);
    c.w().EndObject();
  }
  reasons_if(c, node, indications);
  codeable_concept_list_if(c, "bodySite", child(node, "targetSiteCode"));
  used_codes(c, node);
  c.finish(std::move(index));
  return true;
}

bool convert_encounter(Context& c, const xmlNode* enc) {
  if (!xml::is(enc, "encounter")) return false;
  const std::string_view mood = attr(enc, "moodCode");
  if (!mood.empty() && mood != "EVN") return false;
  const std::vector<std::string> who = performer_refs(c, enc);
  const std::vector<std::string> indications = write_indications(c, enc);
  const std::string id = c.entry_id("Encounter", enc);
  const std::string self = c.ref("Encounter", id);
  // Diagnoses: Encounter Diagnosis acts (or bare problem observations) under the encounter.
  std::vector<std::pair<const xmlNode*, const xmlNode*>> diagnoses;  // (act, observation)
  for (const xmlNode* er : children(enc, "entryRelationship")) {
    const xmlNode* act = child(er, "act");
    if (act) {
      for (const xmlNode* obs : concern_observations(act)) diagnoses.emplace_back(act, obs);
    } else if (const xmlNode* obs = child(er, "observation");
               obs && xml::has_template(obs, "2.16.840.1.113883.10.20.22.4.4")) {
      diagnoses.emplace_back(nullptr, obs);
    }
  }
  std::vector<std::string> condition_refs;
  for (const auto& [act, obs] : diagnoses) {
    const std::string cid = c.entry_id("Condition", obs);
    if (write_condition(c, act, obs, "encounter-diagnosis", cid, self)) condition_refs.push_back(c.ref("Condition", cid));
  }
  if (!c.begin("Encounter", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, enc, &index);
  const xmlNode* time = child(enc, "effectiveTime");
  const std::string_view status = attr(child(enc, "statusCode"), "code");
  const bool ended = status == "completed" || !attr(child(time, "high"), "value").empty() || status.empty();
  c.str_if("status", status == "active" ? "in-progress" : status == "cancelled" ? "cancelled" : ended ? "finished" : "unknown");
  const xmlNode* code = child(enc, "code");
  const xmlNode* act_code = nullptr;
  if (attr(code, "codeSystem") == "2.16.840.1.113883.5.4") act_code = code;
  for (const xmlNode* t : children(code, "translation"))
    if (!act_code && attr(t, "codeSystem") == "2.16.840.1.113883.5.4") act_code = t;
  if (!cd_code(act_code).empty()) {
    c.key("class");
    c.w().StartObject();
    c.str_if("system", "http://terminology.hl7.org/CodeSystem/v3-ActCode");
    c.str_if("code", cd_code(act_code));
    c.str_if("display", attr(act_code, "displayName"));
    c.w().EndObject();
  } else {
    c.data_absent("class");
  }
  codeable_concept_list_if(c, "type", code);
  c.subject();
  actor_list(c, "participant", "individual", who);
  if (attr(time, "value").empty()) {
    period_if(c, "period", time);
  } else {
    std::string start;
    if (ts_to_fhir(attr(time, "value"), c.in.settings.default_zone, TimeKind::DateTime, start)) {
      c.key("period");
      c.w().StartObject();
      c.str_if("start", start);
      c.w().EndObject();
    }
  }
  reasons_if(c, enc, indications);
  if (!condition_refs.empty()) {
    c.key("diagnosis");
    c.w().StartArray();
    for (const auto& r : condition_refs) {
      c.w().StartObject();
      c.reference("condition", r);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  const std::string place = location_name(enc);
  if (!place.empty()) {
    c.key("location");
    c.w().StartArray();
    c.w().StartObject();
    c.key("location");
    c.w().StartObject();
    c.str_if("display", place);
    c.w().EndObject();
    c.w().EndObject();
    c.w().EndArray();
  }
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
