// PID -> Patient, per the IG's PID[Patient] segment map: identifiers (every PID-3
// repetition), names (PID-5), telecom (PID-13/14/40), gender (PID-8 via HL70001), birth date
// and time (PID-7), address (PID-11), marital status (PID-16), deceased (PID-29/30),
// multiple birth (PID-24/25), language (PID-15). Never emits empty values.
#include "adapters/hl7v2/hl7v2_convert_context.h"

#include "adapters/common/hl7v2/hl7v2_time.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr std::string_view kBirthTime = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";

// Y/N (HL7 table 0136) -> 1 / 0, anything else -> -1.
int yes_no(std::string_view v) {
  if (v == "Y") return 1;
  if (v == "N") return 0;
  return -1;
}

void identifiers(ConvertContext& c, const Fields& pid,
                 std::vector<std::pair<std::string, std::string>>& index) {
  std::string_view f = pid.field(3);
  // PID-2 (external id, versions 2.1-2.3) when PID-3 holds no identifier.
  if (trim(comp(rep(f, 0, c.d), 1, c.d)).empty() && rep_count(f, c.d) <= 1) f = pid.field(2);
  const std::size_t reps = rep_count(f, c.d);
  bool open = false;
  IdentifierValue id;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view cx = rep(f, i, c.d);
    if (!cx_identifier(c, cx, id)) continue;
    if (!open) {
      c.json.key("identifier");
      c.json.start_array();
      open = true;
    }
    write_identifier(c, id, comp(cx, 5, c.d), {}, &index);
  }
  if (open) c.json.end_array();
}

void names(ConvertContext& c, const Fields& pid) {
  const std::string_view f = pid.field(5);
  const std::size_t reps = rep_count(f, c.d);
  bool open = false;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view xpn = rep(f, i, c.d);
    if (!xpn_present(c, xpn)) continue;
    if (!open) {
      c.json.key("name");
      c.json.start_array();
      open = true;
    }
    write_human_name(c, xpn);
  }
  if (open) c.json.end_array();
}

void telecoms(ConvertContext& c, const Fields& pid) {
  struct Source {
    std::size_t field;
    std::string_view default_use;
  };
  bool open = false;
  for (const Source& s : {Source{13, "home"}, Source{14, "work"}, Source{40, {}}}) {
    const std::string_view f = pid.field(s.field);
    const std::size_t reps = rep_count(f, c.d);
    for (std::size_t i = 0; i < reps; ++i) {
      const std::string_view xtn = rep(f, i, c.d);
      if (xtn_value(c, xtn, c.number_buf).empty()) continue;
      if (!open) {
        c.json.key("telecom");
        c.json.start_array();
        open = true;
      }
      write_contact_point(c, xtn, s.default_use);
    }
  }
  if (open) c.json.end_array();
}

void gender(ConvertContext& c, const Fields& pid) {
  const std::string_view code = trim(comp(pid.field(8), 1, c.d));
  if (code.empty()) return;
  const auto* m = c.map("HL70001", code);
  if (m && m->system == "http://hl7.org/fhir/administrative-gender") c.json.string_if("gender", m->code);
}

void birth(ConvertContext& c, const Fields& pid) {
  const std::string_view raw = trim(comp(pid.field(7), 1, c.d));
  if (raw.empty()) return;
  c.time_buf.clear();
  if (!to_fhir_date(raw, c.time_buf) || c.time_buf.empty()) return;
  c.json.key("birthDate");
  c.json.string(c.time_buf);
  // A time of birth (more than YYYYMMDD, ignoring the zone) goes into the birthTime extension.
  const std::size_t digits = raw.find_first_not_of("0123456789");
  if ((digits == std::string_view::npos ? raw.size() : digits) <= 8) return;
  c.time_buf.clear();
  if (!to_fhir_datetime(raw, c.opt.default_zone, c.time_buf) || c.time_buf.size() <= 10) return;
  c.json.key("_birthDate");
  c.json.start_object();
  c.json.key("extension");
  c.json.start_array();
  c.json.start_object();
  c.json.string_if("url", kBirthTime);
  c.json.key("valueDateTime");
  c.json.string(c.time_buf);
  c.json.end_object();
  c.json.end_array();
  c.json.end_object();
}

void deceased(ConvertContext& c, const Fields& pid) {
  if (write_datetime(c, "deceasedDateTime", pid.field(29))) return;
  const int flag = yes_no(trim(comp(pid.field(30), 1, c.d)));
  if (flag >= 0) {
    c.json.key("deceasedBoolean");
    c.json.boolean(flag == 1);
  }
}

void addresses(ConvertContext& c, const Fields& pid) {
  const std::string_view f = pid.field(11);
  const std::size_t reps = rep_count(f, c.d);
  bool open = false;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view xad = rep(f, i, c.d);
    if (!xad_present(c, xad)) continue;
    if (!open) {
      c.json.key("address");
      c.json.start_array();
      open = true;
    }
    write_address(c, xad);
  }
  if (open) c.json.end_array();
}

void multiple_birth(ConvertContext& c, const Fields& pid) {
  const std::string_view order = trim(comp(pid.field(25), 1, c.d));
  if (!order.empty() && order.size() < 4 &&
      order.find_first_not_of("0123456789") == std::string_view::npos) {
    int n = 0;
    for (char ch : order) n = n * 10 + (ch - '0');
    if (n > 0) {
      c.json.key("multipleBirthInteger");
      c.json.integer(n);
      return;
    }
  }
  const int flag = yes_no(trim(comp(pid.field(24), 1, c.d)));
  if (flag >= 0) {
    c.json.key("multipleBirthBoolean");
    c.json.boolean(flag == 1);
  }
}

}  // namespace

void write_patient(ConvertContext& c, const Fields& pid) {
  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;  // search identifiers
  j.start_object();
  j.string_if("resourceType", "Patient");
  j.string_if("id", c.patient_id);
  identifiers(c, pid, index);
  names(c, pid);
  telecoms(c, pid);
  gender(c, pid);
  birth(c, pid);
  deceased(c, pid);
  addresses(c, pid);
  const std::string_view marital = rep(pid.field(16), 0, c.d);
  if (cwe_present(c, marital)) {
    j.key("maritalStatus");
    write_codeable_concept(c, marital, "HL70002", "HL70002", false);
  }
  multiple_birth(c, pid);
  const std::string_view language = rep(pid.field(15), 0, c.d);
  if (cwe_present(c, language)) {
    j.key("communication");
    j.start_array();
    j.start_object();
    j.key("language");
    write_codeable_concept(c, language, "HL70296", {}, false);
    j.end_object();
    j.end_array();
  }
  if (!c.patient_link_ref.empty()) {  // ADT^A40 merge: this record replaces the prior one
    j.key("link");
    j.start_array();
    j.start_object();
    j.reference("other", c.patient_link_ref);
    j.string_if("type", c.patient_link_type);
    j.end_object();
    j.end_array();
  }
  j.end_object();
  store::FhirResource& r = c.finish_resource("Patient", c.patient_id);
  r.identifiers = std::move(index);
}

}  // namespace phrgate::hl7v2::detail
