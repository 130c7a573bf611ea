// Family history section -> FamilyMemberHistory: one per Family History Organizer (the
// relative's relationship, sex, birth or deceased state) with its Family History
// Observations as conditions (code, onset age from the Age Observation, else the onset period
// from the observation's time; outcome and contributed to death from the Death Observation).
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kAgeObservation = "2.16.840.1.113883.10.20.22.4.31";
constexpr std::string_view kDeathObservation = "2.16.840.1.113883.10.20.22.4.47";

const xmlNode* related(const xmlNode* obs, std::string_view template_root) {
  for (const xmlNode* er : children(obs, "entryRelationship")) {
    const xmlNode* o = child(er, "observation");
    if (o && xml::has_template(o, template_root)) return o;
  }
  return nullptr;
}

}  // namespace

bool convert_family_history(Context& c, const xmlNode* organizer) {
  if (!xml::is(organizer, "organizer")) return false;
  const xmlNode* subject = xml::path(organizer, {"subject", "relatedSubject"});
  const xmlNode* relationship = child(subject, "code");
  std::vector<const xmlNode*> conditions;
  for (const xmlNode* comp : children(organizer, "component")) {
    const xmlNode* obs = child(comp, "observation");
    if (obs && cd_present(c, child(obs, "value"))) conditions.push_back(obs);
  }
  if (!cd_present(c, relationship) && conditions.empty()) return false;
  const std::string id = c.entry_id("FamilyMemberHistory", organizer);
  if (!c.begin("FamilyMemberHistory", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, organizer, &index);
  c.str_if("status", "completed");
  c.subject("patient");
  const xmlNode* person = child(subject, "subject");
  c.str_if("name", xml::text_of(child(person, "name")));
  codeable_concept_or_absent(c, "relationship", relationship);
  const std::string_view sex = cd_code(child(person, "administrativeGenderCode"));
  if (sex == "M" || sex == "F" || sex == "UN")
    c.codeable("sex", "http://hl7.org/fhir/administrative-gender", sex == "M" ? "male" : sex == "F" ? "female" : "other", {});
  time_if(c, "bornDate", attr(child(person, "birthTime"), "value"), TimeKind::Date);
  bool deceased = false;
  for (const xmlNode* obs : conditions) deceased = deceased || related(obs, kDeathObservation);
  if (const xmlNode* d = child(person, "deceasedInd", kSdtcNs); d && attr(d, "value") == "true") deceased = true;
  if (deceased) {
    c.key("deceasedBoolean");
    c.w().Bool(true);
  }
  if (!conditions.empty()) {
    c.key("condition");
    c.w().StartArray();
    for (const xmlNode* obs : conditions) {
      c.w().StartObject();
      c.key("code");
      codeable_concept(c, child(obs, "value"));
      if (const xmlNode* death = related(obs, kDeathObservation)) {
        codeable_concept_if(c, "outcome", child(death, "value"));
        c.key("contributedToDeath");
        c.w().Bool(true);
      }
      const xmlNode* age = related(obs, kAgeObservation);
      if (!(age && quantity_if(c, "onsetAge", child(age, "value"))))
        period_if(c, "onsetPeriod", child(obs, "effectiveTime"));
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
