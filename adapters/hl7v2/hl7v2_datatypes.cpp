// HL7 v2 datatype writers for the FHIR converter, per the IG's datatype maps: CX/EI ->
// Identifier, CWE -> CodeableConcept, XPN -> HumanName, XAD -> Address, XTN -> ContactPoint,
// XCN -> display text, DTM -> dateTime/instant. Used by the resource writers on the hot path:
// no allocation beyond the context's reused scratch buffers; never emits empty JSON values.
#include <cstring>

#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr std::string_view kContactPointSystem = "http://hl7.org/fhir/contact-point-system";
constexpr std::string_view kContactPointUse = "http://hl7.org/fhir/contact-point-use";
constexpr char kHex[] = "0123456789ABCDEF";
// Code systems coding_system() could not name: the sender's local codes.
constexpr std::string_view kLocalSystemPrefix = "urn:phrgate:codesystem:";

// [0-2](\.(0|[1-9][0-9]*))+ : the FHIR urn:oid pattern.
bool valid_oid(std::string_view s) {
  if (s.size() < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.') return false;
  std::size_t i = 2;
  while (true) {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || (s[start] == '0' && i - start > 1)) return false;
    if (i == s.size()) return true;
    if (s[i] != '.') return false;
    ++i;
  }
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (ch != '-') return false;
    } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool absolute_uri(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char ch : s)
    if (ch == ' ' || ch == '\t') return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (i > 0 && ch >= '0' && ch <= '9') ||
          ch == '+' || ch == '-' || ch == '.'))
      return false;
  }
  return true;
}

// "(555) 555-1234", "555.1234 x12": digits with phone punctuation, at least 3 digits.
bool looks_like_phone(std::string_view s) {
  int digits = 0;
  for (char ch : s) {
    if (ch >= '0' && ch <= '9')
      ++digits;
    else if (!std::strchr(" ()+-./xX#*", ch))
      return false;
  }
  return digits >= 3;
}

bool positive_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 9) return false;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  out = v;
  return v > 0;
}

}  // namespace

// Percent-encodes everything outside RFC 3986 "unreserved", so any sender text is a safe URN part.
void append_urn_part(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
}

// ------------------------------------------------------------------------ identifiers

void identifier_system(ConvertContext& c, std::string_view ns, std::string_view uid,
                       std::string_view uid_type, std::string& out) {
  ns = c.text(ns, c.text_buf2);
  uid = trim(uid);
  uid_type = trim(uid_type);
  if (uid_type == "ISO" && valid_oid(uid)) {
    // Well-known OIDs have a FHIR URI (SSN, NPI...): mappings/oids/; others stay urn:oid.
    if (const auto* m = c.map("oid", uid); m && !m->system.empty())
      out.append(m->system);
    else
      out.append("urn:oid:").append(uid);
    return;
  }
  if (uid_type == "UUID" && valid_uuid(uid)) {
    out.append("urn:uuid:");
    for (char ch : uid) out.push_back((ch >= 'A' && ch <= 'F') ? static_cast<char>(ch + 32) : ch);
    return;
  }
  if (uid_type == "URI" && absolute_uri(uid)) {
    out.append(uid);
    return;
  }
  std::string_view key = !ns.empty() ? ns : uid;
  const bool sent = !key.empty();
  if (!sent) key = c.sender;
  // The sender's own settings first (config "senders": identifier_systems), then the tables.
  if (c.opt.authority_systems)
    for (const auto& [authority, system] : *c.opt.authority_systems)
      if (authority == key) {
        out.append(system);
        return;
      }
  if (const auto* m = c.map("assigning-authority", key); m && !m->system.empty()) {
    out.append(m->system);
    return;
  }
  if (sent) c.report_unmapped("assigning-authority", key, {});
  out.append("urn:phrgate:assigner:");
  append_urn_part(out, key);
}

bool cx_identifier(ConvertContext& c, std::string_view cx, IdentifierValue& out) {
  const std::string_view value = c.text(comp(cx, 1, c.d), c.text_buf);
  if (value.empty()) return false;
  out.value.assign(value);
  const std::string_view hd = component(cx, 4, c.d);
  out.system.clear();
  identifier_system(c, subcomponent(hd, 1, c.d), subcomponent(hd, 2, c.d),
                    subcomponent(hd, 3, c.d), out.system);
  return true;
}

bool ei_identifier(ConvertContext& c, std::string_view ei, IdentifierValue& out) {
  const std::string_view value = c.text(comp(ei, 1, c.d), c.text_buf);
  if (value.empty()) return false;
  out.value.assign(value);
  out.system.clear();
  identifier_system(c, comp(ei, 2, c.d), comp(ei, 3, c.d), comp(ei, 4, c.d), out.system);
  return true;
}

void write_identifier(ConvertContext& c, const IdentifierValue& id, std::string_view type_code,
                      std::string_view default_type,
                      std::vector<std::pair<std::string, std::string>>* index) {
  FhirJson& j = c.json;
  j.start_object();
  type_code = trim(type_code);
  if (!type_code.empty()) {
    j.key("type");
    j.start_object();
    if (const auto* m = c.map("HL70203", type_code)) {
      j.key("coding");
      j.start_array();
      j.coding(m->system, m->code, m->display);
      j.end_array();
    } else {
      j.string_if("text", c.text(type_code, c.text_buf));
      c.report_unmapped("HL70203", type_code, {});
    }
    j.end_object();
  } else if (!default_type.empty()) {
    j.key("type");
    j.start_object();
    j.key("coding");
    j.start_array();
    const auto* m = c.map("HL70203", default_type);
    j.coding(kV2_0203, default_type, m ? m->display : std::string_view{});
    j.end_array();
    j.end_object();
  }
  j.string_if("system", id.system);
  j.string_if("value", id.value);
  j.end_object();
  if (index) index->emplace_back(id.system, id.value);
}

void write_order_identifiers(ConvertContext& c, const IdentifierValue* placer,
                             const IdentifierValue* filler,
                             std::vector<std::pair<std::string, std::string>>* index) {
  if (!placer && !filler) return;
  c.json.key("identifier");
  c.json.start_array();
  if (placer) write_identifier(c, *placer, {}, "PLAC", index);
  if (filler) write_identifier(c, *filler, {}, "FILL", index);
  c.json.end_array();
}

// ------------------------------------------------------------------------ coded values

namespace {
void coding_system_uri(ConvertContext& c, std::string_view name, std::string& out);
}  // namespace

void coding_system(ConvertContext& c, std::string_view name, std::string_view default_table,
                   std::string& out) {
  name = trim(name);
  if (name.empty()) name = default_table;
  // The same CWE-3 name recurs in a message ("LN" on every OBX): resolved once.
  if (const std::string_view done = c.memo.find(RenderMemo::Kind::CodingSystem, name);
      !done.empty()) {
    out.append(done);
    return;
  }
  const std::size_t start = out.size();
  coding_system_uri(c, name, out);
  c.memo.store(RenderMemo::Kind::CodingSystem, name, std::string_view(out).substr(start));
}

namespace {
void coding_system_uri(ConvertContext& c, std::string_view name, std::string& out) {
  if (name.size() == 7 && name.substr(0, 3) == "HL7" &&
      name.find_first_not_of("0123456789", 3) == std::string_view::npos) {
    out.append("http://terminology.hl7.org/CodeSystem/v2-").append(name.substr(3));
    return;
  }
  if (!name.empty()) {
    if (const auto* m = c.map("HL70396", name); m && !m->system.empty()) {
      out.append(m->system);
      return;
    }
    if (valid_oid(name)) {  // a coding system named by its OID (CWE-3 = "2.16.840.1.113883.6.1")
      if (const auto* m = c.map("oid", name); m && !m->system.empty())
        out.append(m->system);
      else
        out.append("urn:oid:").append(name);
      return;
    }
  }
  out.append(kLocalSystemPrefix);
  append_urn_part(out, c.sender);
  out.push_back(':');
  if (name.empty())
    out.push_back('L');
  else
    append_urn_part(out, name);
}

using CweParts = Split<12>;  // components 1..12 are all a CodeableConcept uses

// The first subcomponent of a component (CWE components never use subcomponents).
std::string_view first_sub(std::string_view v, const Delimiters& d) { return nth(v, 0, d.subcomponent); }

bool cwe_parts_present(ConvertContext& c, const CweParts& p) {
  for (std::size_t n : {1, 2, 4, 5, 9, 10, 11})
    if (!c.text(first_sub(p[n], c.d), c.text_buf).empty()) return true;
  return false;
}
}  // namespace

bool cwe_present(ConvertContext& c, std::string_view cwe) {
  return cwe_parts_present(c, CweParts(cwe, c.d.component));
}

void write_codeable_concept(ConvertContext& c, std::string_view cwe, std::string_view default_table,
                            std::string_view map_table, bool translate_local) {
  FhirJson& j = c.json;
  const Delimiters& d = c.d;
  const CweParts p(cwe, d.component);
  auto part = [&](std::size_t n) { return first_sub(p[n], d); };
  // Codes are short and rarely escaped; keep the primary code in its own buffer.
  const std::string_view code1 = c.text(part(1), c.text_buf2);
  const std::string_view system1_name = trim(part(3));
  const mapping::MappedCode* mapped = nullptr;
  if (!map_table.empty() && !code1.empty() &&
      (system1_name.empty() || system1_name == default_table))
    mapped = c.map(map_table, code1);
  const mapping::MappedCode* translated = nullptr;
  if (translate_local && !code1.empty())
    translated = c.map(system1_name.empty() ? std::string_view("L") : system1_name, code1);
  if (translated == mapped) translated = nullptr;

  static constexpr std::size_t kTriplets[3][3] = {{1, 2, 3}, {4, 5, 6}, {10, 11, 12}};
  bool have_triplet = false;
  for (const auto& t : kTriplets)
    if (!trim(part(t[0])).empty()) have_triplet = true;

  // Unmapped-code report (only with a listener): a concept-map code in its table without a
  // row, or a local code without a translation while no coding is in a known system.
  const bool concept_miss = !map_table.empty() && !mapped && !code1.empty() &&
                            (system1_name.empty() || system1_name == default_table);
  bool local_miss = c.opt.unmapped && translate_local && !translated && !mapped && !code1.empty();

  j.start_object();
  const bool any_coding = mapped || translated || have_triplet;
  if (any_coding) {
    j.key("coding");
    j.start_array();
    for (const auto* m : {mapped, translated})
      if (m) j.coding(m->system, m->code, m->display);
    for (const auto& t : kTriplets) {
      const std::string_view code = c.text(part(t[0]), c.text_buf);
      if (code.empty()) continue;
      c.system_buf.clear();
      if (&t == &kTriplets[0] && concept_miss && c.opt.code_maps) {
        // Not in the HL7 table it names (or defaults to): the sender's own code, so it must
        // not be labelled with HL7's code system (that would be invalid FHIR).
        c.system_buf.append(kLocalSystemPrefix);
        append_urn_part(c.system_buf, c.sender);
        c.system_buf.push_back(':');
        append_urn_part(c.system_buf, system1_name.empty() ? std::string_view("L") : system1_name);
      } else {
        coding_system(c, part(t[2]), default_table, c.system_buf);
      }
      if (local_miss && c.system_buf.compare(0, kLocalSystemPrefix.size(), kLocalSystemPrefix) != 0)
        local_miss = false;  // a known code system is there (or the primary code is not local)
      if (mapped && mapped->system == c.system_buf && mapped->code == code) continue;
      j.start_object();
      j.key("system");
      j.string(c.system_buf);
      j.key("code");
      j.string(code);
      j.string_if("display", c.text(part(t[1]), c.text_buf2));
      j.end_object();
    }
    j.end_array();
  }
  std::string_view text = c.text(part(9), c.text_buf);
  if (text.empty() && !any_coding) {
    for (std::size_t n : {2, 5, 11}) {
      text = c.text(part(n), c.text_buf);
      if (!text.empty()) break;
    }
  }
  j.string_if("text", text);
  j.end_object();
  if (c.opt.unmapped && (concept_miss || local_miss)) {
    // Decoded again: the scratch buffers were reused while writing.
    const std::string_view code = c.text(part(1), c.text_buf2);
    const std::string_view display = c.text(part(2), c.text_buf);
    if (concept_miss)
      c.report_unmapped(map_table, code, display);
    else
      c.report_unmapped(system1_name.empty() ? std::string_view("L") : system1_name, code, display);
  }
}

// ------------------------------------------------------------------------ names, addresses

bool xpn_present(ConvertContext& c, std::string_view xpn) {
  if (!c.text(sub(xpn, 1, 1, c.d), c.text_buf).empty()) return true;
  for (std::size_t n : {2, 3, 4, 5, 6, 14})
    if (!c.text(comp(xpn, n, c.d), c.text_buf).empty()) return true;
  return false;
}

void write_human_name(ConvertContext& c, std::string_view xpn) {
  FhirJson& j = c.json;
  const Delimiters& d = c.d;
  j.start_object();
  const std::string_view type = trim(comp(xpn, 7, d));
  if (!type.empty()) {
    if (const auto* m = c.map("HL70200", type); m && m->system == "http://hl7.org/fhir/name-use")
      j.string_if("use", m->code);
  }
  c.text_if("family", sub(xpn, 1, 1, d));
  auto list = [&](std::string_view key, std::initializer_list<std::size_t> comps) {
    bool open = false;
    for (std::size_t n : comps) {
      const std::string_view v = c.text(comp(xpn, n, d), c.text_buf);
      if (v.empty()) continue;
      if (!open) {
        j.key(key);
        j.start_array();
        open = true;
      }
      j.string(v);
    }
    if (open) j.end_array();
  };
  list("given", {2, 3});
  list("prefix", {5});
  list("suffix", {4, 6, 14});
  j.end_object();
}

bool xad_present(ConvertContext& c, std::string_view xad) {
  if (!c.text(sub(xad, 1, 1, c.d), c.text_buf).empty()) return true;
  for (std::size_t n : {2, 3, 4, 5, 6, 9})
    if (!c.text(comp(xad, n, c.d), c.text_buf).empty()) return true;
  return false;
}

void write_address(ConvertContext& c, std::string_view xad) {
  FhirJson& j = c.json;
  const Delimiters& d = c.d;
  j.start_object();
  const std::string_view type = trim(comp(xad, 7, d));
  if (!type.empty()) {
    if (const auto* m = c.map("HL70190-use", type)) j.string_if("use", m->code);
    if (const auto* m = c.map("HL70190-type", type)) j.string_if("type", m->code);
  }
  const std::string_view line1 = c.text(sub(xad, 1, 1, d), c.text_buf);
  const std::string_view line2 = c.text(comp(xad, 2, d), c.text_buf2);
  if (!line1.empty() || !line2.empty()) {
    j.key("line");
    j.start_array();
    if (!line1.empty()) j.string(line1);
    if (!line2.empty()) j.string(line2);
    j.end_array();
  }
  c.text_if("city", comp(xad, 3, d));
  c.text_if("district", comp(xad, 9, d));
  c.text_if("state", comp(xad, 4, d));
  c.text_if("postalCode", comp(xad, 5, d));
  c.text_if("country", comp(xad, 6, d));
  j.end_object();
}

// ------------------------------------------------------------------------ telecom, persons

std::string_view xtn_value(ConvertContext& c, std::string_view xtn, std::string& buf) {
  const Delimiters& d = c.d;
  const Split<12> parts(xtn, d.component);  // XTN-1..12, split once
  auto part = [&](std::size_t n) { return nth(parts[n], 0, d.subcomponent); };  // = comp(xtn, n, d)
  const std::string_view equip = trim(part(3));
  if (equip == "Internet" || equip == "X.400") return c.text(part(4), buf);
  std::string_view v = c.text(part(12), buf);
  if (!v.empty()) return v;
  const std::string_view local = trim(part(7));
  if (!local.empty()) {
    const std::string_view country = trim(part(5));
    const std::string_view area = trim(part(6));
    const std::string_view ext = trim(part(8));
    buf.clear();
    if (!country.empty()) buf.append("+").append(country).append(" ");
    if (!area.empty()) buf.append(area).append(" ");
    buf.append(local);
    if (!ext.empty()) buf.append(" X").append(ext);
    return buf;
  }
  v = c.text(part(1), buf);
  if (v.empty() && equip.empty()) v = c.text(part(4), buf);  // e-mail without a type
  return v;
}

void write_contact_point(ConvertContext& c, std::string_view xtn, std::string_view default_use) {
  FhirJson& j = c.json;
  const Delimiters& d = c.d;
  // xtn_value() may use text_buf internally (via c.text); keep the value in number_buf.
  const std::string_view value = xtn_value(c, xtn, c.number_buf);
  if (value.empty()) return;
  const std::string_view equip = trim(comp(xtn, 3, d));
  std::string_view system;
  std::string_view implied_use;
  if (!equip.empty()) {
    system = "other";
    if (const auto* m = c.map("HL70202", equip)) {
      if (m->system == kContactPointSystem) {
        system = m->code;
      } else if (m->system == kContactPointUse) {
        system = "phone";
        implied_use = m->code;
      }
    }
  } else if (trim(comp(xtn, 1, d)).empty() && !trim(comp(xtn, 4, d)).empty()) {
    system = "email";
  } else if (value.find('@') != std::string_view::npos) {
    system = "email";
  } else if (looks_like_phone(value)) {
    system = "phone";
  }
  std::string_view use;
  if (const std::string_view use_code = trim(comp(xtn, 2, d)); !use_code.empty()) {
    if (const auto* m = c.map("HL70201", use_code); m && m->system == kContactPointUse) use = m->code;
  }
  if (use.empty()) use = !implied_use.empty() ? implied_use : default_use;

  j.start_object();
  if (!system.empty()) {
    j.key("system");
    j.string(system);
  } else {  // FHIR cpt-2: a value needs a system; say why it is missing
    j.key("_system");
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
  j.key("value");
  j.string(value);
  j.string_if("use", use);
  int64_t rank = 0;
  if (positive_int(trim(comp(xtn, 18, d)), rank)) {
    j.key("rank");
    j.integer(rank);
  }
  j.end_object();
}

void xcn_display(ConvertContext& c, std::string_view xcn, std::string& out) {
  const Delimiters& d = c.d;
  const std::size_t start = out.size();
  auto add = [&](std::string_view raw) {
    const std::string_view v = c.text(raw, c.text_buf);
    if (v.empty()) return;
    if (out.size() > start) out.push_back(' ');
    out.append(v);
  };
  add(comp(xcn, 6, d));     // prefix
  add(comp(xcn, 3, d));     // given
  add(comp(xcn, 4, d));     // middle
  add(sub(xcn, 2, 1, d));   // family
  add(comp(xcn, 5, d));     // suffix
  add(comp(xcn, 7, d));     // degree
  if (out.size() == start) add(comp(xcn, 1, d));  // id only
}

// ------------------------------------------------------------------------ times

bool write_datetime(ConvertContext& c, std::string_view key, std::string_view raw) {
  raw = trim(comp(raw, 1, c.d));  // TS.1 (v2.3 TS may carry a precision component)
  if (raw.empty()) return false;
  // The JSON string a valid time rendered to earlier in this message (OBX-14, OBR-7 repeat).
  if (const std::string_view done = c.memo.find(RenderMemo::Kind::DateTime, raw); !done.empty()) {
    c.json.key(key);
    c.json.raw_value(done);
    return true;
  }
  c.time_buf.clear();
  if (!to_fhir_datetime(raw, c.opt.default_zone, c.time_buf) || c.time_buf.empty()) return false;
  c.json.key(key);
  const std::size_t start = c.json.view().size();
  c.json.string(c.time_buf);
  c.memo.store(RenderMemo::Kind::DateTime, raw, c.json.view().substr(start));
  return true;
}

bool write_instant(ConvertContext& c, std::string_view key, std::string_view raw) {
  raw = trim(comp(raw, 1, c.d));
  if (raw.empty()) return false;
  c.time_buf.clear();
  if (!to_fhir_instant(raw, c.opt.default_zone, c.time_buf) || c.time_buf.empty()) return false;
  c.json.key(key);
  c.json.string(c.time_buf);
  return true;
}

bool write_period(ConvertContext& c, std::string_view key, std::string_view raw_start,
                  std::string_view raw_end) {
  std::string& start = c.time_buf;
  std::string& end = c.text_buf2;
  start.clear();
  end.clear();
  raw_start = trim(comp(raw_start, 1, c.d));
  raw_end = trim(comp(raw_end, 1, c.d));
  if (!raw_start.empty() && !to_fhir_datetime(raw_start, c.opt.default_zone, start)) start.clear();
  if (!raw_end.empty() && !to_fhir_datetime(raw_end, c.opt.default_zone, end)) end.clear();
  if (start.empty() && end.empty()) return false;
  c.json.key(key);
  c.json.start_object();
  c.json.string_if("start", start);
  c.json.string_if("end", end);
  c.json.end_object();
  return true;
}

}  // namespace phrgate::hl7v2::detail
