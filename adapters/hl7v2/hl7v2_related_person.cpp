// NK1 -> RelatedPerson, per the IG's NK1[RelatedPerson] segment map: name (NK1-2),
// relationship (NK1-3, HL70063), address (NK1-4), telecom (NK1-5 home, NK1-6 work).
// Called by the converter for ADT and VXU messages. Skips an NK1 that names no person and
// gives no way to reach one (e.g. an employer-only NK1): there is nothing to show.
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

bool any_telecom(ConvertContext& c, const Fields& nk1) {
  for (std::size_t field : {5, 6}) {
    const std::string_view f = nk1.field(field);
    for (std::size_t i = 0, n = rep_count(f, c.d); i < n; ++i)
      if (!xtn_value(c, rep(f, i, c.d), c.number_buf).empty()) return true;
  }
  return false;
}

void telecoms(ConvertContext& c, const Fields& nk1) {
  bool open = false;
  for (const auto& [field, use] : {std::pair<std::size_t, std::string_view>{5, "home"}, {6, "work"}}) {
    const std::string_view f = nk1.field(field);
    for (std::size_t i = 0, n = rep_count(f, c.d); i < n; ++i) {
      const std::string_view xtn = rep(f, i, c.d);
      if (xtn_value(c, xtn, c.number_buf).empty()) continue;
      if (!open) {
        c.json.key("telecom");
        c.json.start_array();
        open = true;
      }
      write_contact_point(c, xtn, use);
    }
  }
  if (open) c.json.end_array();
}

}  // namespace

void write_related_person(ConvertContext& c, const Fields& nk1) {
  const std::string_view name = rep(nk1.field(2), 0, c.d);
  const std::string_view relationship = rep(nk1.field(3), 0, c.d);
  const std::string_view address = rep(nk1.field(4), 0, c.d);
  const bool has_name = xpn_present(c, name);
  const bool has_address = xad_present(c, address);
  if (!has_name && !has_address && !any_telecom(c, nk1)) return;
  // Keyed by who the person is to the patient: family and given name plus relationship
  // (NK1-1 set ids are renumbered between messages). Names are compared as sent.
  std::string who(c.text(sub(name, 1, 1, c.d), c.text_buf));
  who.push_back('|');
  who.append(c.text(comp(name, 2, c.d), c.text_buf));
  std::string id = derive_resource_id(
      "RelatedPerson", {c.sender, c.patient_id, who, trim(comp(relationship, 1, c.d))});
  if (already_written(c, "RelatedPerson", id)) return;

  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "RelatedPerson");
  j.string_if("id", id);
  j.reference("patient", c.patient_ref);
  if (cwe_present(c, relationship)) {
    j.key("relationship");
    j.start_array();
    write_codeable_concept(c, relationship, "HL70063", "HL70063", false);
    j.end_array();
  }
  if (has_name) {
    j.key("name");
    j.start_array();
    write_human_name(c, name);
    j.end_array();
  }
  telecoms(c, nk1);
  if (has_address) {
    j.key("address");
    j.start_array();
    write_address(c, address);
    j.end_array();
  }
  j.end_object();
  c.finish_resource("RelatedPerson", std::move(id));
}

}  // namespace phrgate::hl7v2::detail
