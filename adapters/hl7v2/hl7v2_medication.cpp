// Pharmacy messages: RDE^O11 (ORC + RXE + RXR + TQ1 -> MedicationRequest, IG RXO/RXR/TQ1
// [MedicationRequest] maps applied to RXE's matching fields) and RAS^O17 (RXA + RXR ->
// MedicationAdministration). The drug is a medicationCodeableConcept (RXE-2 / RXA-5): a
// separate Medication resource would add nothing but an id. Status codes are
// required-binding, so the small maps are fixed tables here. Never writes a resource
// without a drug code.
#include <iterator>
#include <optional>
#include <string>

#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

struct StatusRow {
  std::string_view v2;
  std::string_view status;
};
// medicationrequest-status has no "revoked": cancels -> cancelled, discontinues -> stopped.
constexpr StatusRow kOrderStatus[] = {{"CA", "cancelled"}, {"CM", "completed"}, {"DC", "stopped"},
                                      {"ER", "entered-in-error"}, {"HD", "on-hold"}, {"IP", "active"},
                                      {"RP", "cancelled"}, {"SC", "active"}};
constexpr StatusRow kOrderControl[] = {
    {"CA", "cancelled"}, {"CR", "cancelled"}, {"OC", "cancelled"}, {"DC", "stopped"}, {"OD", "stopped"},
    {"DR", "stopped"},   {"DF", "stopped"},   {"HD", "on-hold"},   {"OH", "on-hold"}, {"HR", "on-hold"},
    {"NW", "active"},    {"OK", "active"},    {"RO", "active"},    {"RL", "active"},  {"XO", "active"},
    {"XX", "active"},    {"PR", "active"},    {"RE", "active"}};

std::string_view lookup(const StatusRow* rows, std::size_t n, std::string_view code) {
  for (std::size_t i = 0; i < n; ++i)
    if (rows[i].v2 == code) return rows[i].status;
  return {};
}

void code_and_units_quantity(ConvertContext& c, std::string_view key, std::string_view amount,
                             std::string_view units) {
  std::string& n = c.system_buf;
  n.clear();
  if (!fhir_decimal(trim(amount), n)) return;
  FhirJson& j = c.json;
  j.key(key);
  j.start_object();
  j.key("value");
  j.number(n);
  unit_fields(c, units);
  j.end_object();
}

void route(ConvertContext& c, const Segment* rxr_segment) {
  if (!rxr_segment) return;
  const Fields rxr(*rxr_segment);
  if (!cwe_present(c, rxr.field(1))) return;
  c.json.key("route");
  write_codeable_concept(c, rxr.field(1), "HL70162", {}, false);
}

// The first segment named `id` after segs[index], before the next segment named `stop`.
const Segment* following(const ConvertContext& c, std::size_t index, std::string_view id,
                         std::string_view stop1, std::string_view stop2) {
  const auto& segs = c.msg.segments();
  for (std::size_t k = index + 1; k < segs.size(); ++k) {
    const std::string_view s = segs[k].id();
    if (s == stop1 || s == stop2) break;
    if (s == id) return &segs[k];
  }
  return nullptr;
}

void write_medication_request(ConvertContext& c, std::size_t rxe_index, const Fields* orc, std::size_t ordinal) {
  const Fields rxe(c.msg.segments()[rxe_index]);
  const std::string_view drug = rxe.field(2);
  if (!cwe_present(c, drug)) return;
  IdentifierValue placer, filler;
  const bool has_placer = orc && ei_identifier(c, orc->field(2), placer);
  const bool has_filler = orc && ei_identifier(c, orc->field(3), filler);
  std::string id;
  if (has_filler)
    id = derive_resource_id("MedicationRequest", {c.sender, "filler", filler.system, filler.value});
  else if (has_placer)
    id = derive_resource_id("MedicationRequest", {c.sender, "placer", placer.system, placer.value});
  if (id.empty() || already_written(c, "MedicationRequest", id))
    id = derive_resource_id("MedicationRequest", {c.sender, "msh-10", trim(c.msg.header().control_id),
                                                  std::to_string(ordinal)});
  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "MedicationRequest");
  j.string_if("id", id);
  write_order_identifiers(c, has_placer ? &placer : nullptr, has_filler ? &filler : nullptr, &index);
  std::string_view status;
  if (orc) {
    status = lookup(kOrderStatus, std::size(kOrderStatus), trim(comp(orc->field(5), 1, c.d)));
    if (status.empty()) status = lookup(kOrderControl, std::size(kOrderControl), trim(comp(orc->field(1), 1, c.d)));
  }
  j.string_if("status", status.empty() ? std::string_view("unknown") : status);
  j.string_if("intent", "order");
  j.key("medicationCodeableConcept");
  write_codeable_concept(c, drug, {}, {}, true);
  c.subject();
  if (!c.encounter_ref.empty()) j.reference("encounter", c.encounter_ref);
  if (orc) write_datetime(c, "authoredOn", orc->field(9));
  c.system_buf.clear();
  if (orc) xcn_display(c, rep(orc->field(12), 0, c.d), c.system_buf);
  if (!c.system_buf.empty()) {
    j.key("requester");
    j.start_object();
    j.string_if("display", c.system_buf);
    j.end_object();
  }
  // dosageInstruction: text RXE-7 (administration instructions), TQ1-7/8 bounds, route
  // RXR-1, dose RXE-3 (RXE-5 units).
  const Segment* rxr = following(c, rxe_index, "RXR", "ORC", "RXE");
  const Segment* tq1_segment = nullptr;
  for (std::size_t k = rxe_index; k-- > 0;) {  // TQ1 comes before RXE in RDE_O11 (timing group)
    const std::string_view s = c.msg.segments()[k].id();
    if (s == "ORC" || s == "RXE") break;
    if (s == "TQ1") tq1_segment = &c.msg.segments()[k];
  }
  if (!tq1_segment) tq1_segment = following(c, rxe_index, "TQ1", "ORC", "RXE");
  // Written only when something is known (an empty Dosage is invalid).
  const std::string_view instructions = rep(rxe.field(7), 0, c.d);
  std::string text(c.text(comp(instructions, 2, c.d), c.text_buf));
  if (text.empty()) text.assign(c.text(comp(instructions, 1, c.d), c.text_buf));
  std::optional<Fields> tq1;
  if (tq1_segment) tq1.emplace(*tq1_segment);
  const std::string_view pattern = tq1 ? comp(rep(tq1->field(3), 0, c.d), 1, c.d) : std::string_view{};
  const bool has_pattern = !c.text(pattern, c.text_buf).empty();
  const bool has_bounds = tq1 && (!trim(comp(tq1->field(7), 1, c.d)).empty() || !trim(comp(tq1->field(8), 1, c.d)).empty());
  const bool has_route = rxr && cwe_present(c, Fields(*rxr).field(1));
  std::string& dose = c.number_buf;
  dose.clear();
  const bool has_dose = fhir_decimal(trim(rxe.field(3)), dose);
  if (!text.empty() || has_pattern || has_bounds || has_route || has_dose) {
    j.key("dosageInstruction");
    j.start_array();
    j.start_object();
    j.string_if("text", text);
    if (has_pattern || has_bounds) {
      j.key("timing");
      j.start_object();
      if (has_bounds) {
        j.key("repeat");
        j.start_object();
        write_period(c, "boundsPeriod", tq1->field(7), tq1->field(8));
        j.end_object();
      }
      if (has_pattern) {
        j.key("code");
        j.start_object();
        c.text_if("text", pattern);  // e.g. "Q6H", "BID" (HL70335)
        j.end_object();
      }
      j.end_object();
    }
    route(c, rxr);
    if (has_dose) {
      j.key("doseAndRate");
      j.start_array();
      j.start_object();
      code_and_units_quantity(c, "doseQuantity", rxe.field(3), rxe.field(5));
      j.end_object();
      j.end_array();
    }
    j.end_object();
    j.end_array();
  }
  // dispenseRequest: RXE-10/11 amount, RXE-12 refills.
  std::string& amount = c.number_buf;
  amount.clear();
  const bool has_amount = fhir_decimal(trim(rxe.field(10)), amount);
  std::string refills;
  const bool has_refills = fhir_decimal(trim(rxe.field(12)), refills) &&
                           refills.find_first_not_of("0123456789") == std::string::npos;
  if (has_amount || has_refills) {
    j.key("dispenseRequest");
    j.start_object();
    if (has_refills) {
      j.key("numberOfRepeatsAllowed");
      j.number(refills);
    }
    if (has_amount) code_and_units_quantity(c, "quantity", rxe.field(10), rxe.field(11));
    j.end_object();
  }
  j.end_object();
  store::FhirResource& r = c.finish_resource("MedicationRequest", std::move(id));
  r.identifiers = std::move(index);
}

// MedicationAdministration.status from RXA-20 (CP/PA/empty completed, RE/NA not-done) and
// RXA-21 D (entered-in-error).
std::string_view administration_status(const ConvertContext& c, const Fields& rxa) {
  if (trim(comp(rxa.field(21), 1, c.d)) == "D") return "entered-in-error";
  const std::string_view s = trim(comp(rxa.field(20), 1, c.d));
  if (s == "RE" || s == "NA") return "not-done";
  return "completed";
}

void write_administration(ConvertContext& c, std::size_t rxa_index) {
  const Fields rxa(c.msg.segments()[rxa_index]);
  const std::string_view drug = rxa.field(5);
  if (!cwe_present(c, drug)) return;
  std::string code(c.text(comp(drug, 1, c.d), c.text_buf));
  if (code.empty()) code.assign(c.text(comp(drug, 2, c.d), c.text_buf));
  std::string id = derive_resource_id("MedicationAdministration",
                                      {c.sender, c.patient_id, trim(comp(drug, 3, c.d)), code,
                                       trim(comp(rxa.field(3), 1, c.d))});
  if (already_written(c, "MedicationAdministration", id)) return;
  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "MedicationAdministration");
  j.string_if("id", id);
  const std::string_view status = administration_status(c, rxa);
  j.string_if("status", status);
  if (status == "not-done" && cwe_present(c, rep(rxa.field(18), 0, c.d))) {
    j.key("statusReason");
    j.start_array();
    write_codeable_concept(c, rep(rxa.field(18), 0, c.d), {}, {}, false);
    j.end_array();
  }
  j.key("medicationCodeableConcept");
  write_codeable_concept(c, drug, {}, {}, true);
  c.subject();
  if (!c.encounter_ref.empty()) j.reference("context", c.encounter_ref);
  // effective[x] is required: RXA-3/RXA-4 as a period, RXA-3 alone as a dateTime.
  if (trim(comp(rxa.field(4), 1, c.d)).empty() || trim(comp(rxa.field(4), 1, c.d)) == trim(comp(rxa.field(3), 1, c.d)) ||
      !write_period(c, "effectivePeriod", rxa.field(3), rxa.field(4)))
    if (!write_datetime(c, "effectiveDateTime", rxa.field(3))) {
      j.key("effectivePeriod");  // unknown time: an open period would claim one; keep the text
      j.start_object();
      j.key("extension");
      j.start_array();
      j.start_object();
      j.string_if("url", "http://hl7.org/fhir/StructureDefinition/data-absent-reason");
      j.string_if("valueCode", "unknown");
      j.end_object();
      j.end_array();
      j.end_object();
    }
  const Segment* rxr = following(c, rxa_index, "RXR", "RXA", "ORC");
  const bool has_route = rxr && cwe_present(c, Fields(*rxr).field(1));
  std::string& n = c.number_buf;
  n.clear();
  const bool has_dose = fhir_decimal(trim(rxa.field(6)), n) && n != "999";  // 999: unknown amount
  if (has_dose || has_route) {
    j.key("dosage");
    j.start_object();
    route(c, rxr);
    if (has_dose) code_and_units_quantity(c, "dose", rxa.field(6), rxa.field(7));
    j.end_object();
  }
  j.end_object();
  c.finish_resource("MedicationAdministration", std::move(id));
}

}  // namespace

void write_pharmacy(ConvertContext& c) {
  const auto& segs = c.msg.segments();
  const std::string_view code = c.msg.header().message_code;
  std::optional<Fields> orc;
  std::size_t ordinal = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string_view id = segs[i].id();
    if (id == "ORC") {
      orc.emplace(segs[i]);
    } else if (id == "RXE" && code == "RDE") {
      write_medication_request(c, i, orc ? &*orc : nullptr, ++ordinal);
    } else if (id == "RXA" && code == "RAS") {
      write_administration(c, i);
    }
  }
}

}  // namespace phrgate::hl7v2::detail
