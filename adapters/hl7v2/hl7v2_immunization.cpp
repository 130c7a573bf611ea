// RXA (+ RXR) -> Immunization for VXU^V04, per the IG's RXA[Immunization] and
// RXR[Immunization] segment maps: vaccineCode RXA-5 (CVX), occurrence RXA-3, doseQuantity
// RXA-6/7, lot RXA-15, expiration RXA-16, manufacturer RXA-17 (MVX), status from RXA-20/21,
// statusReason RXA-18, route/site RXR-1/2. Called by the converter once per RXA. Never
// writes an Immunization without a vaccine code (RXA-5): it is required and nothing else
// says what was given.
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

// Immunization.status (IG CompletionStatus map, RXA-20; RXA-21 D = entered-in-error).
std::string_view immunization_status(const ConvertContext& c, const Fields& rxa) {
  if (trim(comp(rxa.field(21), 1, c.d)) == "D") return "entered-in-error";
  const std::string_view completion = trim(comp(rxa.field(20), 1, c.d));
  if (completion == "RE" || completion == "NA") return "not-done";
  return "completed";  // CP, PA (partially administered: also isSubpotent) or not sent
}

void dose_quantity(ConvertContext& c, const Fields& rxa) {
  const std::string_view amount = trim(comp(rxa.field(6), 1, c.d));
  if (amount.empty() || amount == "999") return;  // 999: amount unknown (CDC IG)
  c.number_buf.clear();
  if (!fhir_decimal(amount, c.number_buf)) return;
  FhirJson& j = c.json;
  j.key("doseQuantity");
  j.start_object();
  j.key("value");
  j.number(c.number_buf);
  unit_fields(c, rxa.field(7));
  j.end_object();
}

void manufacturer(ConvertContext& c, const Fields& rxa) {
  const std::string_view mvx = rep(rxa.field(17), 0, c.d);
  const std::string_view code = trim(comp(mvx, 1, c.d));
  std::string display(c.text(comp(mvx, 2, c.d), c.text_buf));
  if (code.empty() && display.empty()) return;
  FhirJson& j = c.json;
  j.key("manufacturer");
  j.start_object();
  if (!code.empty()) {
    std::string_view system_name = trim(comp(mvx, 3, c.d));
    if (system_name.empty()) system_name = "MVX";  // RXA-17 is bound to MVX
    c.system_buf.clear();
    coding_system(c, system_name, {}, c.system_buf);
    j.key("identifier");
    j.start_object();
    j.string_if("system", c.system_buf);
    j.string_if("value", c.text(code, c.text_buf));
    j.end_object();
  }
  j.string_if("display", display);
  j.end_object();
}

void route_site(ConvertContext& c, const Segment* rxr_segment) {
  if (!rxr_segment) return;
  const Fields rxr(*rxr_segment);
  const std::string_view route = rxr.field(1);
  if (cwe_present(c, route)) {
    c.json.key("route");
    write_codeable_concept(c, route, "HL70162", {}, false);
  }
  const std::string_view site = rxr.field(2);
  if (cwe_present(c, site)) {
    c.json.key("site");
    write_codeable_concept(c, site, "HL70163", {}, false);
  }
}

}  // namespace

void write_immunization(ConvertContext& c, const Fields& rxa, const Segment* rxr) {
  const std::string_view vaccine = rep(rxa.field(5), 0, c.d);
  if (!cwe_present(c, vaccine)) return;
  const std::string_view given_at = trim(comp(rxa.field(3), 1, c.d));
  std::string code(c.text(comp(vaccine, 1, c.d), c.text_buf));
  if (code.empty()) code.assign(c.text(comp(vaccine, 2, c.d), c.text_buf));
  // Keyed by vaccine and administration time: a re-sent or corrected VXU hits the same id.
  std::string id = derive_resource_id(
      "Immunization", {c.sender, c.patient_id, trim(comp(vaccine, 3, c.d)), code, given_at});
  if (already_written(c, "Immunization", id)) return;

  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Immunization");
  j.string_if("id", id);
  const std::string_view status = immunization_status(c, rxa);
  j.string_if("status", status);
  const std::string_view reason = rep(rxa.field(18), 0, c.d);
  if (status == "not-done" && cwe_present(c, reason)) {
    j.key("statusReason");
    write_codeable_concept(c, reason, "NIP002", {}, false);
  }
  j.key("vaccineCode");
  write_codeable_concept(c, vaccine, "CVX", {}, false);
  j.reference("patient", c.patient_ref);
  if (!c.encounter_ref.empty()) {
    j.reference("encounter", c.encounter_ref);
  }
  // occurrence[x] is required: RXA-3 as a dateTime, else the IG-less fallback "unknown".
  if (!write_datetime(c, "occurrenceDateTime", given_at)) j.string_if("occurrenceString", "unknown");
  // RXA-9 NIP001: 00 = new record (primary source), 01..08 = historical (IG).
  const std::string_view source = trim(comp(rep(rxa.field(9), 0, c.d), 1, c.d));
  if (source == "00" || (source.size() == 2 && source[0] == '0')) {
    j.key("primarySource");
    j.boolean(source == "00");
  }
  manufacturer(c, rxa);
  j.string_if("lotNumber", c.text(rep(rxa.field(15), 0, c.d), c.text_buf));
  const std::string_view expires = trim(comp(rep(rxa.field(16), 0, c.d), 1, c.d));
  if (!expires.empty()) {
    c.time_buf.clear();
    if (to_fhir_date(expires, c.time_buf) && !c.time_buf.empty()) j.string_if("expirationDate", c.time_buf);
  }
  route_site(c, rxr);
  dose_quantity(c, rxa);
  if (trim(comp(rxa.field(20), 1, c.d)) == "PA" && status == "completed") {
    j.key("isSubpotent");
    j.boolean(true);
  }
  j.end_object();
  c.finish_resource("Immunization", std::move(id));
}

}  // namespace phrgate::hl7v2::detail
