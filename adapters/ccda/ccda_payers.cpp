// Payers section -> Coverage: each Policy Activity (22.4.61) of a Coverage Activity (22.4.60)
// becomes one Coverage: policy ids, payer type (Source of Payment Typology) as type, the payer
// (Payer Performer's organization; the patient for self-pay when no payer is named), the
// covered party's member id, relationship and period. The payer is never guessed: when none
// is named it is marked data-absent. Planned Coverage (22.4.129) under a planned act ->
// Coverage (type: the expected payer type) for ServiceRequest.insurance.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kPolicyActivity = "2.16.840.1.113883.10.20.22.4.61";
constexpr std::string_view kPayerPerformer = "2.16.840.1.113883.10.20.22.4.87";
constexpr std::string_view kCoveredParty = "2.16.840.1.113883.10.20.22.4.89";
constexpr std::string_view kPolicyHolder = "2.16.840.1.113883.10.20.22.4.90";
constexpr std::string_view kPlannedCoverage = "2.16.840.1.113883.10.20.22.4.129";

const xmlNode* participant_with(const xmlNode* policy, std::string_view template_root, std::string_view type) {
  for (const xmlNode* p : children(policy, "participant"))
    if (xml::has_template(p, template_root) || attr(p, "typeCode") == type) return p;
  return nullptr;
}

// The payer type of a Planned Coverage (22.4.129): its nested act's code (Source of Payment
// Typology), else the policy activity's own code.
const xmlNode* planned_payer_type(const xmlNode* planned) {
  for (const xmlNode* er : children(planned, "entryRelationship"))
    if (const xmlNode* act = child(er, "act"); act && !cd_code(child(act, "code")).empty()) return child(act, "code");
  return nullptr;
}

bool write_coverage(Context& c, const xmlNode* policy) {
  if (!xml::is(policy, "act")) return false;
  const bool planned = xml::has_template(policy, kPlannedCoverage);
  std::string payer;
  for (const xmlNode* p : children(policy, "performer")) {
    if (!xml::has_template(p, kPayerPerformer)) continue;
    payer = participant_ref(c, p);
    if (!payer.empty()) break;
  }
  const xmlNode* covered = child(participant_with(policy, kCoveredParty, "COV"), "participantRole");
  const xmlNode* holder = child(participant_with(policy, kPolicyHolder, "HLD"), "participantRole");
  const xmlNode* relationship = child(covered, "code");
  const xmlNode* type = planned ? planned_payer_type(policy) : child(policy, "code");
  const bool self_pay = cd_code(type) == "81";
  const std::string id = c.entry_id("Coverage", policy);
  if (!c.begin("Coverage", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, policy, &index);
  const std::string_view status = attr(child(policy, "statusCode"), "code");
  c.str_if("status", status == "nullified" ? "entered-in-error" : status == "cancelled" || status == "aborted"
                     ? "cancelled" : "active");
  codeable_concept_if(c, "type", type);
  Ident member;
  for (const xmlNode* holder_or_covered : {holder, covered}) {
    bool found = false;
    for (const xmlNode* i : children(holder_or_covered, "id"))
      if (!attr(i, "extension").empty() && identifier_of(c, i, member)) {
        found = true;
        break;
      }
    if (found) {
      c.str_if("subscriberId", member.value);
      break;
    }
  }
  c.subject("beneficiary");
  codeable_concept_if(c, "relationship", relationship);
  period_if(c, "period", xml::path(participant_with(policy, kCoveredParty, "COV"), {"time"}));
  c.key("payor");
  c.w().StartArray();
  c.w().StartObject();
  if (!payer.empty()) {
    c.str_if("reference", payer);
  } else if (self_pay) {
    c.str_if("reference", c.patient_ref);
  } else {
    c.key("extension");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("url", kDataAbsentUrl);
    c.str_if("valueCode", "unknown");
    c.w().EndObject();
    c.w().EndArray();
  }
  c.w().EndObject();
  c.w().EndArray();
  c.finish(std::move(index));
  return true;
}

}  // namespace

std::vector<std::string> write_planned_coverages(Context& c, const xmlNode* node) {
  std::vector<std::string> out;
  for (const xmlNode* er : children(node, "entryRelationship")) {
    const xmlNode* act = child(er, "act");
    if (!xml::has_template(act, kPlannedCoverage) || !planned_payer_type(act)) continue;
    const std::string id = c.entry_id("Coverage", act);
    if (write_coverage(c, act)) out.push_back(c.ref("Coverage", id));
  }
  return out;
}

bool convert_payer_entry(Context& c, const xmlNode* node) {
  if (xml::has_template(node, kPolicyActivity)) return write_coverage(c, node);
  if (!xml::is(node, "act")) return false;
  bool any = false;
  for (const xmlNode* er : children(node, "entryRelationship"))
    if (const xmlNode* policy = child(er, "act")) any = write_coverage(c, policy) || any;
  return any;
}

}  // namespace phrgate::ccda::detail
