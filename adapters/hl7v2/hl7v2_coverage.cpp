// IN1 -> Coverage (IG IN1[Coverage]) for the ADT messages that carry insurance: the payor is
// a contained Organization (IN1-3 id, IN1-4 name, IN1-5 address, IN1-7 phone), so a
// patient's record holds no shared Organization another person's data could overwrite.
// subscriber: the Patient when IN1-17 is SEL, else IN1-16 as a display. IN2 adds nothing yet.
// Never writes a Coverage without a payor (IN1-3 or IN1-4).
#include <iterator>
#include <string>

#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr std::string_view kSubscriberRelationship =
    "http://terminology.hl7.org/CodeSystem/subscriber-relationship";

// HL70063 relationship -> subscriber-relationship (FHIR's extensible value set).
struct Relationship {
  std::string_view v2;
  std::string_view fhir;
};
constexpr Relationship kRelationships[] = {
    {"SEL", "self"},   {"SPO", "spouse"}, {"DOM", "common"}, {"CHD", "child"},  {"NCH", "child"},
    {"STPCHD", "child"}, {"FCH", "child"}, {"PAR", "parent"}, {"MTH", "parent"}, {"FTH", "parent"},
    {"EME", "other"},  {"OTH", "other"},  {"EMR", "other"},  {"GRD", "other"}};

std::string_view relationship(std::string_view v2) {
  for (const Relationship& r : kRelationships)
    if (r.v2 == v2) return r.fhir;
  return {};
}

// The payor's name: XON-1 of the first IN1-4 repetition.
std::string_view payor_name(ConvertContext& c, const Fields& in1) {
  return c.text(comp(rep(in1.field(4), 0, c.d), 1, c.d), c.text_buf);
}

void contained_payor(ConvertContext& c, const Fields& in1) {
  FhirJson& j = c.json;
  j.key("contained");
  j.start_array();
  j.start_object();
  j.string_if("resourceType", "Organization");
  j.string_if("id", "payor");
  IdentifierValue company;
  const std::string_view cx = rep(in1.field(3), 0, c.d);
  if (cx_identifier(c, cx, company)) {
    j.key("identifier");
    j.start_array();
    write_identifier(c, company, comp(cx, 5, c.d), {}, nullptr);
    j.end_array();
  }
  c.text_if("name", comp(rep(in1.field(4), 0, c.d), 1, c.d));
  const std::string_view phone = rep(in1.field(7), 0, c.d);
  if (!xtn_value(c, phone, c.number_buf).empty()) {
    j.key("telecom");
    j.start_array();
    write_contact_point(c, phone, "work");
    j.end_array();
  }
  const std::string_view address = rep(in1.field(5), 0, c.d);
  if (xad_present(c, address)) {
    j.key("address");
    j.start_array();
    write_address(c, address);
    j.end_array();
  }
  j.end_object();
  j.end_array();
}

}  // namespace

void write_coverage(ConvertContext& c, std::size_t index) {
  const Fields in1(c.msg.segments()[index]);
  const bool has_company = !trim(comp(rep(in1.field(3), 0, c.d), 1, c.d)).empty();
  const std::string company_name(payor_name(c, in1));
  if (!has_company && company_name.empty()) return;  // payor is required
  std::string policy(c.text(in1.field(36), c.text_buf));
  if (policy.empty()) policy.assign(c.text(comp(rep(in1.field(49), 0, c.d), 1, c.d), c.text_buf));
  const std::string_view plan = trim(comp(in1.field(2), 1, c.d));
  std::string id = derive_resource_id(
      "Coverage", {c.sender, c.patient_id, has_company ? trim(comp(rep(in1.field(3), 0, c.d), 1, c.d)) : company_name,
                   plan, policy, trim(in1.field(8))});
  if (already_written(c, "Coverage", id)) return;

  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Coverage");
  j.string_if("id", id);
  contained_payor(c, in1);
  if (!plan.empty()) {  // IN1-2 health plan id
    j.key("identifier");
    j.start_array();
    j.start_object();
    c.system_buf.clear();
    const std::string_view plan_system = trim(comp(in1.field(2), 3, c.d));
    if (!plan_system.empty()) coding_system(c, plan_system, {}, c.system_buf);
    j.string_if("system", c.system_buf);
    j.string_if("value", c.text(plan, c.text_buf));
    j.end_object();
    j.end_array();
  }
  j.string_if("status", "active");  // required; IN1 carries no record status
  const std::string_view plan_type = in1.field(15);
  if (cwe_present(c, plan_type)) {
    j.key("type");
    write_codeable_concept(c, plan_type, "HL70086", {}, false);
  }
  const std::string_view rel = trim(comp(in1.field(17), 1, c.d));
  if (rel == "SEL") {
    j.reference("subscriber", c.patient_ref);
  } else {
    c.system_buf.clear();
    const std::string_view insured = rep(in1.field(16), 0, c.d);
    if (xpn_present(c, insured)) {
      for (std::size_t n : {2, 3}) {  // given names, then family
        const std::string_view v = c.text(comp(insured, n, c.d), c.text_buf);
        if (v.empty()) continue;
        if (!c.system_buf.empty()) c.system_buf.push_back(' ');
        c.system_buf.append(v);
      }
      const std::string_view family = c.text(sub(insured, 1, 1, c.d), c.text_buf);
      if (!family.empty()) c.system_buf.append(c.system_buf.empty() ? "" : " ").append(family);
    }
    if (!c.system_buf.empty()) {
      j.key("subscriber");
      j.start_object();
      j.string_if("display", c.system_buf);
      j.end_object();
    }
  }
  j.string_if("subscriberId", policy);
  j.reference("beneficiary", c.patient_ref);
  if (!rel.empty()) {
    j.key("relationship");
    const std::string_view fhir = relationship(rel);
    if (!fhir.empty()) {
      j.start_object();
      j.key("coding");
      j.start_array();
      j.coding(kSubscriberRelationship, fhir, {});
      j.end_array();
      j.end_object();
    } else {
      write_codeable_concept(c, in1.field(17), "HL70063", "HL70063", false);  // unmapped: sender's own code
    }
  }
  write_period(c, "period", in1.field(12), in1.field(13));
  j.key("payor");
  j.start_array();
  j.start_object();
  j.string_if("reference", "#payor");
  j.string_if("display", company_name);
  j.end_object();
  j.end_array();
  const std::string_view group = c.text(in1.field(8), c.text_buf);
  if (!group.empty()) {
    j.key("class");
    j.start_array();
    j.start_object();
    j.codeable_concept("type", "http://terminology.hl7.org/CodeSystem/coverage-class", "group", "Group");
    j.string_if("value", group);
    c.text_if("name", comp(rep(in1.field(9), 0, c.d), 1, c.d));
    j.end_object();
    j.end_array();
  }
  j.end_object();
  c.finish_resource("Coverage", std::move(id));
}

}  // namespace phrgate::hl7v2::detail
