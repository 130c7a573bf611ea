// Immunizations section -> Immunization: vaccine (CVX, translations), status (completed;
// negationInd -> not-done with the refusal reason as statusReason), occurrence, lot number,
// manufacturer, route, site, dose, performer, indications (reasonCode + reasonReference to
// Observations, ccda_indications.cpp). Planned immunizations (moodCode INT) are
// left to the plan of care (skipped here).
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

bool convert_immunization(Context& c, const xmlNode* sa) {
  if (!xml::is(sa, "substanceAdministration") || attr(sa, "moodCode") != "EVN") return false;
  const xmlNode* product = xml::path(sa, {"consumable", "manufacturedProduct"});
  const xmlNode* material = child(product, "manufacturedMaterial");
  const xmlNode* vaccine = child(material, "code");
  const bool negated = xml::attr_true(sa, "negationInd");
  std::vector<std::string> performers;
  for (const xmlNode* p : children(sa, "performer"))
    if (std::string r = participant_ref(c, p); !r.empty()) performers.push_back(std::move(r));
  const std::vector<std::string> indications = negated ? std::vector<std::string>{} : write_indications(c, sa);
  const std::string id = c.entry_id("Immunization", sa);
  if (!c.begin("Immunization", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, sa, &index);
  const std::string_view status = attr(child(sa, "statusCode"), "code");
  c.str_if("status", negated ? "not-done" : status == "nullified" ? "entered-in-error" : "completed");
  if (negated) {
    for (const xmlNode* er : children(sa, "entryRelationship")) {
      const xmlNode* obs = child(er, "observation");
      if (!obs || attr(er, "typeCode") != "RSON") continue;
      if (codeable_concept_if(c, "statusReason", child(obs, "code"))) break;
    }
  }
  codeable_concept_or_absent(c, "vaccineCode", vaccine);
  c.subject("patient");
  if (!c.encounter_ref.empty()) c.reference("encounter", c.encounter_ref);
  // occurrence[x] is required: without a usable time, say so in occurrenceString (validators
  // handle that better than a data-absent-reason extension on the primitive).
  if (!time_if(c, "occurrenceDateTime", point_time(child(sa, "effectiveTime"))))
    c.str_if("occurrenceString", "unknown");
  time_if(c, "recorded", attr(xml::path(sa, {"author", "time"}), "value"));
  const std::string manufacturer = xml::text_of(xml::path(product, {"manufacturerOrganization", "name"}));
  if (!manufacturer.empty()) {
    c.key("manufacturer");
    c.w().StartObject();
    c.str_if("display", manufacturer);
    c.w().EndObject();
  }
  c.str_if("lotNumber", xml::text_of(child(material, "lotNumberText")));
  codeable_concept_if(c, "site", child(sa, "approachSiteCode"));
  codeable_concept_if(c, "route", child(sa, "routeCode"));
  quantity_if(c, "doseQuantity", child(sa, "doseQuantity"));
  if (!performers.empty()) {
    c.key("performer");
    c.w().StartArray();
    for (const auto& r : performers) {
      c.w().StartObject();
      c.reference("actor", r);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  if (!negated) reasons_if(c, sa, indications);  // negated: RSON is the refusal reason
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
