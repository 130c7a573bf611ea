// Social history, functional status and mental (cognitive) status -> Observation: smoking
// status (LOINC 72166-2 when the template sends ASSERTION), tobacco use, pregnancy, birth
// sex and other social history observations (category social-history); functional and
// mental status observations and organizers (category survey plus the US Core
// functional-status / cognitive-status category); assistive devices under them -> Device +
// DeviceUseStatement.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kUsCoreCategory = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category";

std::vector<ObservationCategory> categories_for(std::string_view section_kind) {
  if (section_kind == "social-history") return {{kObservationCategory, "social-history", "Social History"}};
  if (section_kind == "functional-status")
    return {{kObservationCategory, "survey", "Survey"}, {kUsCoreCategory, "functional-status", "Functional Status"}};
  return {{kObservationCategory, "survey", "Survey"}, {kUsCoreCategory, "cognitive-status", "Cognitive Status"}};
}

bool generic_code(const xmlNode* code) {
  const std::string_view c = cd_code(code);
  return c.empty() || c == "ASSERTION";
}

bool one_observation(Context& c, const xmlNode* obs, const std::vector<ObservationCategory>& cats) {
  const xmlNode* code = child(obs, "code");
  std::string_view loinc, display;
  if (xml::has_template(obs, "2.16.840.1.113883.10.20.22.4.78") && (generic_code(code) || cd_code(code) != "72166-2")) {
    loinc = "72166-2";
    display = "Tobacco smoking status";
  } else if (xml::has_template(obs, "2.16.840.1.113883.10.20.15.3.8") && generic_code(code)) {
    loinc = "82810-3";
    display = "Pregnancy status";
  }
  if (loinc.empty() && !cd_present(c, code)) return false;
  if (!write_observation(c, obs, c.entry_id("Observation", obs), cats, nullptr, loinc, display)) return false;
  // Assistive devices (Non-Medicinal Supply Activity under a functional status observation).
  for (const xmlNode* er : children(obs, "entryRelationship"))
    if (const xmlNode* supply = child(er, "supply")) convert_device_entry(c, supply);
  return true;
}

}  // namespace

bool convert_status_observation(Context& c, const xmlNode* node, std::string_view section_kind) {
  const std::vector<ObservationCategory> cats = categories_for(section_kind);
  if (xml::is(node, "observation")) {
    if (attr(node, "moodCode") != "EVN" && !attr(node, "moodCode").empty()) return false;
    return one_observation(c, node, cats);
  }
  if (!xml::is(node, "organizer")) return false;
  std::vector<std::string> members;
  for (const xmlNode* comp : children(node, "component")) {
    const xmlNode* obs = child(comp, "observation");
    if (!obs) continue;
    const std::string id = c.entry_id("Observation", obs);
    if (one_observation(c, obs, cats)) members.push_back(c.ref("Observation", id));
  }
  if (members.empty()) return false;
  if (cd_present(c, child(node, "code")))
    write_observation(c, node, c.entry_id("Observation", node, "panel"), cats, &members);
  return true;
}

}  // namespace phrgate::ccda::detail
