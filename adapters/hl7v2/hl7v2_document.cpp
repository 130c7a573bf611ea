// Documents -> DocumentReference: an ORU OBX of type ED (embedded data) or RP (reference
// pointer), and MDM^T02 (TXA + its OBX TX/FT/ST/ED/RP). The content goes inline as
// attachment.data (base64; ED-4 Base64 passed through after checks, Hex and ASCII encoded
// here) or attachment.url (RP-1). Never writes invalid base64 or an attachment with neither
// data nor url: such an OBX falls back to an Observation with a dataAbsentReason.
#include <string>

#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_append(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
}

bool is_base64_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
         ch == '/';
}

// Base64 as sent (line breaks, escaped or not, removed); false unless it is valid base64.
bool clean_base64(std::string_view in, std::string& out) {
  out.clear();
  std::size_t pad = 0;
  for (char ch : in) {
    if (ch == ' ' || ch == '\r' || ch == '\n' || ch == '\t') continue;
    if (ch == '=') {
      ++pad;
    } else if (is_base64_char(ch) && pad == 0) {
    } else {
      return false;
    }
    out += ch;
  }
  return !out.empty() && out.size() % 4 == 0 && pad <= 2;
}

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

bool hex_decode(std::string_view in, std::string& out) {
  out.clear();
  int high = -1;
  for (char ch : in) {
    if (ch == ' ' || ch == '\r' || ch == '\n') continue;
    const int v = hex_digit(ch);
    if (v < 0) return false;
    if (high < 0) {
      high = v;
    } else {
      out += static_cast<char>(high * 16 + v);
      high = -1;
    }
  }
  return high < 0 && !out.empty();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

// MIME type from the ED/RP type of data (ED-2 / RP-3) and subtype (ED-3 / RP-4).
std::string content_type(std::string_view type, std::string_view subtype) {
  struct Row {
    std::string_view subtype;
    std::string_view mime;
  };
  static constexpr Row kRows[] = {
      {"PDF", "application/pdf"},   {"JPEG", "image/jpeg"}, {"JPG", "image/jpeg"},
      {"PNG", "image/png"},         {"GIF", "image/gif"},   {"TIFF", "image/tiff"},
      {"BMP", "image/bmp"},         {"RTF", "application/rtf"}, {"HTML", "text/html"},
      {"XML", "application/xml"},   {"PLAIN", "text/plain"},    {"TEXT", "text/plain"},
      {"OCTET-STREAM", "application/octet-stream"}, {"DICOM", "application/dicom"},
      {"MSWORD", "application/msword"}};
  if (subtype.find('/') != std::string_view::npos) {  // already a MIME type
    std::string m(subtype);
    for (char& ch : m) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    return m;
  }
  for (const Row& r : kRows)
    if (iequals(r.subtype, subtype)) return std::string(r.mime);
  if (iequals(type, "TEXT") || iequals(type, "TX")) return "text/plain";
  return "application/octet-stream";
}

// True when `v` is an instant with seconds (DocumentReference.date must not invent precision).
bool has_seconds(std::string_view v) {
  v = trim(v);
  std::size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  return digits >= 14;
}

struct Attachment {
  std::string content_type;
  std::string data;  // base64
  std::string url;
  std::string_view creation_raw;
};

// ED or RP value -> attachment; false when unusable.
bool attachment_from(ConvertContext& c, std::string_view type, std::string_view value, Attachment& a) {
  const Delimiters& d = c.d;
  if (type == "RP") {
    const std::string_view pointer = c.text(comp(value, 1, d), c.text_buf);
    if (pointer.empty() || pointer.find_first_of(" \t\r\n") != std::string_view::npos) return false;
    a.url.assign(pointer);
    a.content_type = content_type(trim(comp(value, 3, d)), trim(comp(value, 4, d)));
    return true;
  }
  // ED: 1 source application, 2 type of data, 3 subtype, 4 encoding, 5 data.
  const std::string_view encoding = trim(comp(value, 4, d));
  const std::string_view raw = comp(value, 5, d);
  std::string& decoded = c.number_buf;
  decoded.clear();
  unescape_append(decoded, raw, d);  // escaped line breaks, if any
  a.content_type = content_type(trim(comp(value, 2, d)), trim(comp(value, 3, d)));
  if (iequals(encoding, "Base64")) return clean_base64(decoded, a.data);
  if (iequals(encoding, "Hex")) {
    std::string bytes;
    if (!hex_decode(decoded, bytes)) return false;
    base64_append(a.data, bytes);
    return true;
  }
  if (trim(decoded).empty()) return false;  // "A" (ASCII) or none: the text itself
  base64_append(a.data, decoded);
  return true;
}

void write_attachment(ConvertContext& c, const Attachment& a, std::string_view title) {
  FhirJson& j = c.json;
  j.key("content");
  j.start_array();
  j.start_object();
  j.key("attachment");
  j.start_object();
  j.string_if("contentType", a.content_type);
  j.string_if("data", a.data);
  j.string_if("url", a.url);
  j.string_if("title", title);
  write_datetime(c, "creation", a.creation_raw);
  j.end_object();
  j.end_object();
  j.end_array();
}

void write_context(ConvertContext& c, std::string_view related) {
  if (c.encounter_ref.empty() && related.empty()) return;
  FhirJson& j = c.json;
  j.key("context");
  j.start_object();
  if (!c.encounter_ref.empty()) {
    j.key("encounter");
    j.start_array();
    j.start_object();
    j.string_if("reference", c.encounter_ref);
    j.end_object();
    j.end_array();
  }
  if (!related.empty()) {
    j.key("related");
    j.start_array();
    j.start_object();
    j.string_if("reference", related);
    j.end_object();
    j.end_array();
  }
  j.end_object();
}

}  // namespace

bool write_obx_document(ConvertContext& c, const Fields& obx, std::string id, std::string_view code_cwe,
                        std::string_view related) {
  Attachment a;
  if (!attachment_from(c, trim(obx.field(2)), rep(obx.field(5), 0, c.d), a)) return false;
  a.creation_raw = obx.field(14);
  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "DocumentReference");
  j.string_if("id", id);
  const std::string_view result_status = trim(obx.field(11));
  j.string_if("status", result_status == "D" || result_status == "W" ? "entered-in-error" : "current");
  if (result_status == "F" || result_status == "C")
    j.string_if("docStatus", result_status == "F" ? "final" : "amended");
  else if (result_status == "P")
    j.string_if("docStatus", "preliminary");
  j.key("type");
  write_codeable_concept(c, code_cwe, {}, {}, true);
  c.subject();
  if (has_seconds(comp(obx.field(14), 1, c.d))) write_instant(c, "date", obx.field(14));
  write_attachment(c, a, {});
  write_context(c, related);
  j.end_object();
  c.finish_resource("DocumentReference", std::move(id));
  return true;
}

void write_mdm_document(ConvertContext& c) {
  const auto& segs = c.msg.segments();
  const Segment* txa_segment = c.msg.find("TXA");
  if (!txa_segment) return;
  const Fields txa(*txa_segment);
  // The note: every OBX TX/FT/ST/CE value line joined by newlines (text/plain), unless an
  // OBX carries ED/RP content, which then is the document.
  std::string text;
  Attachment a;
  bool have_attachment = false;
  for (const Segment& s : segs) {
    if (s.id() != "OBX") continue;
    const Fields obx(s);
    const std::string_view type = trim(obx.field(2));
    if ((type == "ED" || type == "RP") && !have_attachment) {
      have_attachment = attachment_from(c, type, rep(obx.field(5), 0, c.d), a);
      continue;
    }
    const std::string_view f = obx.field(5);
    const std::size_t reps = rep_count(f, c.d);
    for (std::size_t r = 0; r < reps; ++r) {
      const std::string_view line = c.text(rep(f, r, c.d), c.text_buf);
      if (!text.empty()) text.push_back('\n');
      text.append(line);
    }
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (!have_attachment) {
    if (text.empty()) return;  // nothing to file
    a = Attachment{};
    a.content_type = "text/plain";
    base64_append(a.data, text);
  }
  a.creation_raw = txa.field(6);

  IdentifierValue number;
  const bool has_number = ei_identifier(c, txa.field(12), number);
  std::string id = has_number
                       ? derive_resource_id("DocumentReference", {c.sender, "txa-12", number.system, number.value})
                       : derive_resource_id("DocumentReference",
                                            {c.sender, "msh-10", trim(c.msg.header().control_id)});
  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "DocumentReference");
  j.string_if("id", id);
  if (has_number) {
    j.key("masterIdentifier");
    write_identifier(c, number, {}, {}, &index);
  }
  // TXA-19 availability (IG: AV or empty -> current); OB obsolete -> superseded, CA canceled ->
  // entered-in-error. docStatus from TXA-17 completion (HL70271).
  const std::string_view availability = trim(txa.field(19));
  j.string_if("status", availability == "OB"   ? "superseded"
                        : availability == "CA" ? "entered-in-error"
                                               : "current");
  const std::string_view completion = trim(comp(txa.field(17), 1, c.d));
  if (completion == "AU" || completion == "LA" || completion == "DO")
    j.string_if("docStatus", "final");
  else if (completion == "DI" || completion == "IN" || completion == "IP" || completion == "PA")
    j.string_if("docStatus", "preliminary");
  const std::string_view type = rep(txa.field(2), 0, c.d);
  if (cwe_present(c, type)) {
    j.key("type");
    write_codeable_concept(c, type, "HL70270", {}, false);
  }
  c.subject();
  if (has_seconds(comp(txa.field(6), 1, c.d))) write_instant(c, "date", txa.field(6));
  c.system_buf.clear();
  xcn_display(c, rep(txa.field(5), 0, c.d), c.system_buf);  // primary activity provider
  if (!c.system_buf.empty()) {
    j.key("author");
    j.start_array();
    j.start_object();
    j.string_if("display", c.system_buf);
    j.end_object();
    j.end_array();
  }
  write_attachment(c, a, {});
  write_context(c, {});
  j.end_object();
  store::FhirResource& r = c.finish_resource("DocumentReference", std::move(id));
  r.identifiers = std::move(index);
}

}  // namespace phrgate::hl7v2::detail
