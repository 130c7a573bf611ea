// Indications of an activity (C-CDA Indication observations, entryRelationship typeCode RSON,
// under medications, immunizations, procedures and encounters): each is kept whole as an
// Observation (its code says what kind of finding, its value the problem), then the activity
// gets reasonCode (the values) and reasonReference (those Observations), as C-CDA on FHIR's
// indication map says. Never writes an empty reason list.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

// The RSON observations of `node` (`events_only`: planned ones excluded).
std::vector<const xmlNode*> indication_observations(const xmlNode* node, bool events_only) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* er : children(node, "entryRelationship")) {
    if (attr(er, "typeCode") != "RSON") continue;
    const xmlNode* obs = child(er, "observation");
    const std::string_view mood = attr(obs, "moodCode");
    if (obs && (!events_only || mood.empty() || mood == "EVN")) out.push_back(obs);
  }
  return out;
}

}  // namespace

std::vector<std::string> write_indications(Context& c, const xmlNode* node) {
  std::vector<std::string> refs;
  for (const xmlNode* obs : indication_observations(node, true)) {
    if (!cd_present(c, child(obs, "code"))) continue;
    const std::string id = c.entry_id("Observation", obs);
    if (write_observation(c, obs, id, {})) refs.push_back(c.ref("Observation", id));
  }
  return refs;
}

void reasons_if(Context& c, const xmlNode* node, const std::vector<std::string>& refs) {
  bool open = false;
  for (const xmlNode* obs : indication_observations(node, false)) {
    const xmlNode* value = child(obs, "value");
    if (!cd_present(c, value)) continue;
    if (!open) {
      c.key("reasonCode");
      c.w().StartArray();
      open = true;
    }
    codeable_concept(c, value);
  }
  if (open) c.w().EndArray();
  c.reference_list("reasonReference", refs);
}

}  // namespace phrgate::ccda::detail
