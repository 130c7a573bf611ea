// OBX-5 value (by OBX-2 value type), OBX-6 units and OBX-7 reference range -> Observation
// value[x] and referenceRange, per the IG's OBX[Observation], SN[...] and CWE[Quantity] maps.
// A value that does not parse as its declared type is kept as valueString (never dropped,
// never written as an invalid number or date). No regex, no allocation beyond scratch.
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"

namespace phrgate::hl7v2::detail {

// Writes Quantity.unit/system/code from OBX-6 into an open Quantity object. UCUM only when the
// unit's coding system is UCUM, or the unit text is listed in the "unit" code map (conservative).
void unit_fields(ConvertContext& c, std::string_view units) {
  FhirJson& j = c.json;
  const Split<3> parts(units, c.d.component);  // CWE-1..3, split once
  auto part = [&](std::size_t n) { return nth(parts[n], 0, c.d.subcomponent); };
  const std::string_view text = c.text(part(2), c.text_buf);
  if (!text.empty()) {
    j.key("unit");
    j.string(text);
  }
  const std::string_view code = c.text(part(1), c.text_buf2);
  if (code.empty()) return;
  if (text.empty()) {
    j.key("unit");
    j.string(code);
  }
  if (trim(part(3)) == "UCUM") {
    j.string_if("system", kUcum);
    j.string_if("code", code);
  } else if (const auto* m = c.map("unit", code); m && !m->code.empty()) {
    j.string_if("system", m->system);
    j.string_if("code", m->code);
  } else {
    c.report_unmapped("unit", code, text);  // kept as Quantity.unit text only
  }
}

void ObxUnits::write(ConvertContext& c) {
  FhirJson& j = c.json;
  if (!rendered_) {
    rendered_ = true;
    members_ = c.memo.find(RenderMemo::Kind::UnitMembers, units_);  // same OBX-6 earlier
    if (members_.empty()) {
      const std::size_t start = j.view().size();
      const std::size_t reports = c.unmapped_reports;
      unit_fields(c, units_);
      c.units_json.assign(j.view().substr(start));
      members_ = c.units_json;
      if (c.unmapped_reports == reports && !members_.empty()) {
        const std::string_view stored =
            c.memo.store(RenderMemo::Kind::UnitMembers, units_, members_);
        if (!stored.empty()) members_ = stored;
      }
      return;  // written by unit_fields
    }
  }
  j.append_members(members_);
}

namespace {

// {"value": n, "comparator"?, unit...}; `number` already normalized.
void quantity(ConvertContext& c, std::string_view number, std::string_view comparator,
              ObxUnits& units) {
  FhirJson& j = c.json;
  j.start_object();
  j.key("value");
  j.number(number);
  j.string_if("comparator", comparator);
  units.write(c);
  j.end_object();
}

// Parses a leading decimal ("-1.5", "+3", ".5") at s[pos]; returns its end or npos.
std::size_t number_end(std::string_view s, std::size_t pos) {
  std::size_t i = pos;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  return digits ? i : std::string_view::npos;
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && s[i] == ' ') ++i;
  return i;
}

// valueString with every OBX-5 repetition, unescaped, joined by newlines.
bool value_string(ConvertContext& c, std::string_view obx5) {
  std::string& s = c.number_buf;
  s.clear();
  const std::size_t reps = rep_count(obx5, c.d);
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view v = c.text(rep(obx5, i, c.d), c.text_buf);
    if (v.empty()) continue;
    if (!s.empty()) s.push_back('\n');
    s.append(v);
  }
  if (s.empty()) return false;
  c.json.key("valueString");
  c.json.string(s);
  return true;
}

// SN: comparator ^ num1 ^ separator/suffix ^ num2.
bool value_sn(ConvertContext& c, std::string_view sn, ObxUnits& obx_units) {
  const Delimiters& d = c.d;
  const std::string_view cmp = trim(comp(sn, 1, d));
  const std::string_view sep = trim(comp(sn, 3, d));
  std::string& n1 = c.system_buf;
  std::string& n2 = c.time_buf;
  n1.clear();
  n2.clear();
  const bool ok1 = fhir_decimal(comp(sn, 2, d), n1);
  const bool ok2 = fhir_decimal(comp(sn, 4, d), n2);
  FhirJson& j = c.json;
  if (cmp != "<>" && sep != "+" && ok1) {
    if ((sep == ":" || sep == "/") && ok2) {
      j.key("valueRatio");
      j.start_object();
      j.key("numerator");
      quantity(c, n1, (cmp == "=" ? std::string_view{} : cmp), obx_units);
      j.key("denominator");
      quantity(c, n2, {}, obx_units);
      j.end_object();
      return true;
    }
    if (sep == "-" && ok2) {
      j.key("valueRange");
      j.start_object();
      j.key("low");
      quantity(c, n1, {}, obx_units);
      j.key("high");
      quantity(c, n2, {}, obx_units);
      j.end_object();
      return true;
    }
    const bool known_cmp = cmp.empty() || cmp == "=" || cmp == "<" || cmp == ">" || cmp == "<=" ||
                           cmp == ">=";
    if (sep.empty() && comp(sn, 4, d).empty() && known_cmp) {
      j.key("valueQuantity");
      quantity(c, n1, (cmp == "=" ? std::string_view{} : cmp), obx_units);
      return true;
    }
  }
  // "<>" (undetermined), "+" suffix, or numbers that do not parse: keep the text (IG).
  std::string& s = c.number_buf;
  s.clear();
  for (std::size_t n = 1; n <= 4; ++n) {
    const std::string_view part = c.text(comp(sn, n, d), c.text_buf);
    if (part.empty()) continue;
    if (!s.empty()) s.push_back(' ');
    s.append(part);
  }
  if (s.empty()) return false;
  const std::string_view units = obx_units.raw();
  const std::string_view unit = c.text(comp(units, 2, d).empty() ? comp(units, 1, d) : comp(units, 2, d),
                                       c.text_buf);
  if (!unit.empty()) s.append(" ").append(unit);
  j.key("valueString");
  j.string(s);
  return true;
}

}  // namespace

bool write_observation_value(ConvertContext& c, const Fields& obx, ObxUnits& units) {
  const Delimiters& d = c.d;
  const std::string_view type = trim(obx.field(2));
  const std::string_view obx5 = obx.field(5);
  const std::string_view first = rep(obx5, 0, d);
  FhirJson& j = c.json;
  if (trim(obx5).empty()) return false;
  if (type == "NM") {
    std::string& n = c.system_buf;
    n.clear();
    if (fhir_decimal(comp(first, 1, d), n)) {
      j.key("valueQuantity");
      quantity(c, n, {}, units);
      return true;
    }
    // "<15", ">= 200" sent as NM (strictly that is SN): a Quantity with its comparator keeps
    // the number and the unit, where text would lose the unit.
    const std::string_view text = trim(comp(first, 1, d));
    const std::size_t op_len = text.substr(0, 2) == "<=" || text.substr(0, 2) == ">=" ? 2
                               : !text.empty() && (text[0] == '<' || text[0] == '>') ? 1
                                                                                      : 0;
    if (op_len > 0) {
      n.clear();
      const std::string_view rest = text.substr(skip_spaces(text, op_len));
      if (fhir_decimal(rest, n)) {
        j.key("valueQuantity");
        quantity(c, n, text.substr(0, op_len), units);
        return true;
      }
    }
    return value_string(c, obx5);  // "Positive", "see note"... sent as NM: keep as text
  }
  if (type == "SN") return value_sn(c, first, units);
  if (type == "CE" || type == "CWE" || type == "CNE" || type == "CF" || type == "IS" || type == "ID") {
    if (!cwe_present(c, first)) return false;
    j.key("valueCodeableConcept");
    write_codeable_concept(c, first, {}, {}, true);
    return true;
  }
  if (type == "DT" || type == "DTM" || type == "TS") {
    if (write_datetime(c, "valueDateTime", first)) return true;
    return value_string(c, obx5);
  }
  if (type == "TM") {
    c.time_buf.clear();
    if (to_fhir_time(trim(comp(first, 1, d)), c.time_buf)) {
      j.key("valueTime");
      j.string(c.time_buf);
      return true;
    }
    return value_string(c, obx5);
  }
  if (type == "NR") {
    std::string& lo = c.system_buf;
    std::string& hi = c.time_buf;
    lo.clear();
    hi.clear();
    const bool has_lo = fhir_decimal(comp(first, 1, d), lo);
    const bool has_hi = fhir_decimal(comp(first, 2, d), hi);
    if (!has_lo && !has_hi) return value_string(c, obx5);
    j.key("valueRange");
    j.start_object();
    if (has_lo) {
      j.key("low");
      quantity(c, lo, {}, units);
    }
    if (has_hi) {
      j.key("high");
      quantity(c, hi, {}, units);
    }
    j.end_object();
    return true;
  }
  if (type == "ST" || type == "TX" || type == "FT" || type.empty()) return value_string(c, obx5);
  if (type == "CX") {  // an identifier as a result (donor id, ...): its value, CX-1 (no IG row)
    const std::string_view v = c.text(comp(first, 1, d), c.text_buf);
    if (v.empty()) return false;
    j.key("valueString");
    j.string(v);
    return true;
  }
  if (type == "DR") {  // IG: valuePeriod from DR-1/DR-2
    if (write_period(c, "valuePeriod", comp(first, 1, d), comp(first, 2, d))) return true;
    return value_string(c, obx5);
  }
  // ED/RP are documents (hl7v2_document.cpp; here only when their content was unusable), NA,
  // MA, CP...: not converted (dataAbsentReason "unsupported").
  return false;
}

void write_reference_range(ConvertContext& c, const Fields& obx, ObxUnits& units) {
  const std::string_view raw_units = units.raw();
  const std::string_view raw_range = obx.field(7);
  const std::string_view text = c.text(raw_range, c.number_buf);
  if (text.empty()) return;
  // The rendering depends on OBX-6 and OBX-7 only: keyed by "OBX-6|OBX-7" as it is in the
  // segment (adjacent fields), so repeated ranges with the same units are copied.
  std::string_view memo_key;
  if (raw_units.data() && raw_units.data() + raw_units.size() + 1 == raw_range.data())
    memo_key = std::string_view(raw_units.data(), raw_units.size() + 1 + raw_range.size());
  FhirJson& j = c.json;
  if (!memo_key.empty()) {
    if (const std::string_view done = c.memo.find(RenderMemo::Kind::ReferenceRange, memo_key);
        !done.empty()) {
      j.key("referenceRange");
      j.raw_value(done);
      return;
    }
  }
  const std::size_t reports = c.unmapped_reports;
  std::string& low = c.system_buf;
  std::string& high = c.time_buf;
  low.clear();
  high.clear();
  bool parsed = false;
  if (text[0] == '<' || text[0] == '>') {  // "<5", "<= 5", ">10"
    std::size_t i = 1;
    if (i < text.size() && text[i] == '=') ++i;
    i = skip_spaces(text, i);
    const std::size_t end = number_end(text, i);
    if (end != std::string_view::npos && skip_spaces(text, end) == text.size())
      parsed = fhir_decimal(text.substr(i, end - i), text[0] == '<' ? high : low);
  } else {  // "3.5-5.0", "-1 - 1", "10 - 20"
    const std::size_t a_end = number_end(text, 0);
    if (a_end != std::string_view::npos) {
      std::size_t i = skip_spaces(text, a_end);
      if (i < text.size() && text[i] == '-') {
        i = skip_spaces(text, i + 1);
        const std::size_t b_end = number_end(text, i);
        if (b_end != std::string_view::npos && skip_spaces(text, b_end) == text.size())
          parsed = fhir_decimal(text.substr(0, a_end), low) &&
                   fhir_decimal(text.substr(i, b_end - i), high);
      }
    }
  }
  j.key("referenceRange");
  const std::size_t start = j.view().size();
  j.start_array();
  j.start_object();
  if (parsed && !low.empty()) {
    j.key("low");
    quantity(c, low, {}, units);
  }
  if (parsed && !high.empty()) {
    j.key("high");
    quantity(c, high, {}, units);
  }
  j.key("text");  // always kept: "<5" is not exactly "high = 5"
  j.string(text);
  j.end_object();
  j.end_array();
  if (!memo_key.empty() && c.unmapped_reports == reports)
    c.memo.store(RenderMemo::Kind::ReferenceRange, memo_key, j.view().substr(start));
}

}  // namespace phrgate::hl7v2::detail
