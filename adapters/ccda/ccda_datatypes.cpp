// CDA datatypes -> FHIR for the C-CDA converter: II, CD/CE (translations, originalText
// through the narrative), TS/IVL_TS, PQ, names, addresses, telecoms. nullFlavor values are
// never turned into data: the element is omitted (or marked data-absent by the caller).
#include <cstring>
#include <string>

#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

bool identifier_of(const Context& c, const xmlNode* id, Ident& out) {
  if (!id || xml::has_null_flavor(id)) return false;
  const std::string_view root = attr(id, "root");
  const std::string_view ext = attr(id, "extension");
  if (root.empty()) return false;
  out.system.clear();
  out.value.clear();
  if (!ext.empty()) {
    c.system_for(root, out.system);
    out.value.assign(ext);
  } else {
    out.system = "urn:ietf:rfc:3986";
    c.system_for(root, out.value);
    if (out.value.rfind("urn:", 0) != 0) {  // a well-known OID mapped to a URL: keep the OID
      out.value = "urn:oid:";
      out.value.append(root);
    }
  }
  return true;
}

void identifiers_if(Context& c, const xmlNode* parent, IdentifierIndex* index) {
  bool open = false;
  Ident ident;
  std::vector<std::pair<std::string, std::string>> seen;  // senders repeat ids; write each once
  for (const xmlNode* id : children(parent, "id")) {
    if (!identifier_of(c, id, ident)) continue;
    bool repeated = false;
    for (const auto& [sys, val] : seen) repeated = repeated || (sys == ident.system && val == ident.value);
    if (repeated) continue;
    seen.emplace_back(ident.system, ident.value);
    if (!open) {
      c.key("identifier");
      c.w().StartArray();
      open = true;
    }
    c.w().StartObject();
    c.str_if("system", ident.system);
    c.str_if("value", ident.value);
    c.w().EndObject();
    if (index) index->emplace_back(ident.system, ident.value);
  }
  if (open) c.w().EndArray();
}

std::string referenced_text(const Context& c, const xmlNode* holder) {
  if (!holder) return {};
  if (const xmlNode* r = child(holder, "reference")) {
    std::string_view target = attr(r, "value");
    if (!target.empty() && target.front() == '#') {
      target.remove_prefix(1);
      if (auto it = c.narrative_ids.find(target); it != c.narrative_ids.end()) {
        std::string t = xml::text_of(it->second);
        if (!t.empty()) return t;
      }
    }
  }
  return xml::text_of(holder);
}

std::string original_text(const Context& c, const xmlNode* cd) {
  return referenced_text(c, child(cd, "originalText"));
}

std::string_view cd_code(const xmlNode* cd) {
  return cd && !xml::has_null_flavor(cd) ? attr(cd, "code") : std::string_view{};
}

namespace {

bool coding_present(const xmlNode* cd) { return !cd_code(cd).empty(); }

void write_coding(Context& c, const xmlNode* cd, std::string& sys) {
  c.w().StartObject();
  const std::string_view system = attr(cd, "codeSystem");
  if (!system.empty()) {
    sys.clear();
    c.system_for(system, sys);
    c.str_if("system", sys);
  }
  c.str_if("code", attr(cd, "code"));
  c.str_if("display", attr(cd, "displayName"));
  c.w().EndObject();
}

}  // namespace

bool cd_present(const Context& c, const xmlNode* cd) {
  if (!cd) return false;
  if (coding_present(cd) || !attr(cd, "displayName").empty()) return true;
  for (const xmlNode* t : children(cd, "translation"))
    if (coding_present(t)) return true;
  return !original_text(c, cd).empty();
}

void codeable_concept(Context& c, const xmlNode* cd) {
  std::string sys;
  c.w().StartObject();
  bool open = false;
  auto open_codings = [&] {
    if (open) return;
    c.key("coding");
    c.w().StartArray();
    open = true;
  };
  if (coding_present(cd)) {
    open_codings();
    write_coding(c, cd, sys);
  }
  for (const xmlNode* t : children(cd, "translation")) {
    if (!coding_present(t)) continue;
    open_codings();
    write_coding(c, t, sys);
  }
  if (open) c.w().EndArray();
  std::string text = original_text(c, cd);
  if (text.empty() && !coding_present(cd)) text.assign(attr(cd, "displayName"));
  c.str_if("text", text);
  c.w().EndObject();
}

bool codeable_concept_if(Context& c, std::string_view k, const xmlNode* cd) {
  if (!cd_present(c, cd)) return false;
  c.key(k);
  codeable_concept(c, cd);
  return true;
}

void codeable_concept_or_absent(Context& c, std::string_view k, const xmlNode* cd) {
  if (!codeable_concept_if(c, k, cd)) c.data_absent(k);
}

bool codeable_concept_list_if(Context& c, std::string_view k, const xmlNode* cd) {
  if (!cd_present(c, cd)) return false;
  c.key(k);
  c.w().StartArray();
  codeable_concept(c, cd);
  c.w().EndArray();
  return true;
}

// ---- time

namespace {
bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  return true;
}
}  // namespace

bool ts_to_fhir(std::string_view ts, std::string_view default_zone, TimeKind kind, std::string& out) {
  std::string_view zone;
  const std::size_t z = ts.find_first_of("+-");
  if (z != std::string_view::npos) {
    zone = ts.substr(z);
    ts = ts.substr(0, z);
    // UTC offsets run from -12:00 to +14:00 (FHIR's regex: hours 00-14, minutes 00-59).
    if (zone.size() != 5 || !digits(zone.substr(1)) || zone.substr(1, 2) > "14" || zone.substr(3, 2) > "59")
      return false;
  }
  std::string_view frac;
  if (const std::size_t dot = ts.find('.'); dot != std::string_view::npos) {
    frac = ts.substr(dot + 1);
    ts = ts.substr(0, dot);
    if (!digits(frac) || ts.size() != 14) return false;
  }
  const std::size_t n = ts.size();
  if (!digits(ts) || (n != 4 && n != 6 && n != 8 && n != 10 && n != 12 && n != 14)) return false;
  if (n >= 6 && (ts.substr(4, 2) < "01" || ts.substr(4, 2) > "12")) return false;
  if (n >= 8) {
    const int year = std::stoi(std::string(ts.substr(0, 4)));
    const int month = std::stoi(std::string(ts.substr(4, 2)));
    const int day = std::stoi(std::string(ts.substr(6, 2)));
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) return false;
  }
  if (n >= 10 && ts.substr(8, 2) > "23") return false;
  if (n >= 12 && ts.substr(10, 2) > "59") return false;
  if (n >= 14 && ts.substr(12, 2) > "60") return false;
  const std::size_t start = out.size();
  out.append(ts.substr(0, 4));
  if (n >= 6) out.append("-").append(ts.substr(4, 2));
  if (n >= 8) out.append("-").append(ts.substr(6, 2));
  if (kind == TimeKind::Date || n < 10) {
    if (kind == TimeKind::Instant || (kind == TimeKind::DateTime && n < 8 && n != 4 && n != 6)) {
      out.resize(start);
      return false;
    }
    return true;
  }
  out.append("T").append(ts.substr(8, 2)).append(":");
  out.append(n >= 12 ? ts.substr(10, 2) : std::string_view("00")).append(":");
  out.append(n >= 14 ? ts.substr(12, 2) : std::string_view("00"));
  if (!frac.empty()) out.append(".").append(frac);
  if (!zone.empty()) {
    if (zone.substr(1) == "0000") out.append("Z");
    else out.append(zone.substr(0, 3)).append(":").append(zone.substr(3, 2));
  } else {
    out.append(default_zone.empty() ? std::string_view("Z") : default_zone);
  }
  return true;
}

bool time_if(Context& c, std::string_view k, std::string_view ts, TimeKind kind) {
  if (ts.empty()) return false;
  std::string v;
  if (!ts_to_fhir(ts, c.in.settings.default_zone, kind, v)) return false;
  c.str_if(k, v);
  return true;
}

std::string_view point_time(const xmlNode* ivl) {
  if (!ivl || xml::has_null_flavor(ivl)) return {};
  std::string_view v = attr(ivl, "value");
  if (v.empty()) v = attr(child(ivl, "low"), "value");
  if (v.empty()) v = attr(child(ivl, "center"), "value");
  if (v.empty()) v = attr(child(ivl, "high"), "value");
  return v;
}

bool period_present(const Context& c, const xmlNode* ivl) {
  if (!ivl) return false;
  std::string probe;
  std::string_view low = attr(child(ivl, "low"), "value");
  if (low.empty()) low = attr(ivl, "value");
  const std::string_view zone = c.in.settings.default_zone;
  return ts_to_fhir(low, zone, TimeKind::DateTime, probe) ||
         ts_to_fhir(attr(child(ivl, "high"), "value"), zone, TimeKind::DateTime, probe);
}

void document_context_if(Context& c, const xmlNode* ivl) {
  const bool has_period = period_present(c, ivl);
  if (c.encounter_ref.empty() && !has_period) return;
  c.key("context");
  c.w().StartObject();
  if (!c.encounter_ref.empty()) {
    c.key("encounter");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("reference", c.encounter_ref);
    c.w().EndObject();
    c.w().EndArray();
  }
  if (has_period) period_if(c, "period", ivl);
  c.w().EndObject();
}

bool period_if(Context& c, std::string_view k, const xmlNode* ivl) {
  if (!ivl) return false;
  std::string start, end;
  const std::string_view zone = c.in.settings.default_zone;
  std::string_view low = attr(child(ivl, "low"), "value");
  if (low.empty()) low = attr(ivl, "value");
  const std::string_view high = attr(child(ivl, "high"), "value");
  if (!low.empty()) ts_to_fhir(low, zone, TimeKind::DateTime, start);
  if (!high.empty()) ts_to_fhir(high, zone, TimeKind::DateTime, end);
  if (start.empty() && end.empty()) return false;
  c.key(k);
  c.w().StartObject();
  c.str_if("start", start);
  c.str_if("end", end);
  c.w().EndObject();
  return true;
}

bool effective_if(Context& c, std::string_view prefix, const xmlNode* ivl) {
  if (!ivl || xml::has_null_flavor(ivl)) return false;
  std::string k(prefix);
  const std::string_view value = attr(ivl, "value");
  if (!value.empty()) return time_if(c, k.append("DateTime"), value);
  const xmlNode* low = child(ivl, "low");
  const xmlNode* high = child(ivl, "high");
  if (!low && !high) return false;
  return period_if(c, k.append("Period"), ivl);
}

// ---- quantities

bool fhir_decimal(std::string_view v, std::string& out) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  bool negative = false;
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) {
    negative = v.front() == '-';
    v.remove_prefix(1);
  }
  const std::size_t dot = v.find('.');
  std::string_view whole = v.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : v.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  if ((!whole.empty() && !digits(whole)) || (!frac.empty() && !digits(frac))) return false;
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  if (negative) out.push_back('-');
  out.append(whole.empty() ? std::string_view("0") : whole);
  if (!frac.empty()) out.append(".").append(frac);
  return true;
}

bool quantity_if(Context& c, std::string_view k, const xmlNode* pq) {
  if (!pq || xml::has_null_flavor(pq)) return false;
  std::string number;
  if (!fhir_decimal(attr(pq, "value"), number)) return false;
  c.key(k);
  c.w().StartObject();
  c.key("value");
  c.raw_number(number);
  const std::string_view unit = attr(pq, "unit");
  if (!unit.empty()) {
    c.str_if("unit", unit);
    c.str_if("system", kUcum);  // PQ units are UCUM by definition
    c.str_if("code", unit);
  }
  c.w().EndObject();
  return true;
}

}  // namespace phrgate::ccda::detail
