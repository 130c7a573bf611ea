// The C-CDA document header and the record of the original: document authors and custodian,
// componentOf/encompassingEncounter -> Encounter, the DocumentReference that keeps the XML
// (base64 data, size, SHA-1 hash) and the Provenance naming it as the source of every
// resource derived from the document. Dates come from the document, never from the clock.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

std::string base64(std::string_view bytes) {
  std::string out;
  out.resize(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

namespace {

std::string sha1_base64(std::string_view bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return base64(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// A FHIR instant from a TS: a time of day is padded to seconds; a date alone gets midnight
// (only used for Provenance.recorded, which is required).
bool recorded_instant(const Context& c, std::string_view ts, std::string& out) {
  if (ts_to_fhir(ts, c.in.settings.default_zone, TimeKind::Instant, out)) return true;
  const std::size_t z = ts.find_first_of("+-");
  std::string padded(ts.substr(0, z));
  if (padded.size() != 8) return false;
  padded.append("000000");
  if (z != std::string_view::npos) padded.append(ts.substr(z));
  return ts_to_fhir(padded, c.in.settings.default_zone, TimeKind::Instant, out);
}

}  // namespace

void write_header_participants(Context& c, const xmlNode* root) {
  for (const xmlNode* author : children(root, "author")) {
    const std::string r = participant_ref(c, author);
    if (!r.empty()) c.author_refs.push_back(r);
  }
  const xmlNode* custodian_org = xml::path(root, {"custodian", "assignedCustodian", "representedCustodianOrganization"});
  c.custodian_ref = organization_for(c, custodian_org);
}

void write_encompassing_encounter(Context& c, const xmlNode* root) {
  const xmlNode* enc = xml::path(root, {"componentOf", "encompassingEncounter"});
  if (!enc) return;
  const xmlNode* facility = xml::path(enc, {"location", "healthCareFacility"});
  const std::string provider = organization_for(c, child(facility, "serviceProviderOrganization"));
  std::vector<std::string> participants;
  for (const xmlNode* p : children(enc, "encounterParticipant")) {
    std::string r = practitioner_for(c, child(p, "assignedEntity"));
    if (!r.empty() && r.find("Organization") == std::string::npos) participants.push_back(std::move(r));
  }
  const std::string id = c.entry_id("Encounter", enc);
  c.encounter_ref = c.ref("Encounter", id);
  if (!c.begin("Encounter", id)) return;
  IdentifierIndex index;
  identifiers_if(c, enc, &index);
  const xmlNode* time = child(enc, "effectiveTime");
  const bool ended = !attr(child(time, "high"), "value").empty();
  c.str_if("status", ended ? "finished" : "unknown");
  const xmlNode* code = child(enc, "code");
  if (attr(code, "codeSystem") == "2.16.840.1.113883.5.4" && !cd_code(code).empty()) {
    c.key("class");
    c.w().StartObject();
    c.str_if("system", "http://terminology.hl7.org/CodeSystem/v3-ActCode");
    c.str_if("code", cd_code(code));
    c.str_if("display", attr(code, "displayName"));
    c.w().EndObject();
  } else {
    c.data_absent("class");
  }
  codeable_concept_list_if(c, "type", code);
  c.subject();
  if (!participants.empty()) {
    c.key("participant");
    c.w().StartArray();
    for (const auto& r : participants) {
      c.w().StartObject();
      c.reference("individual", r);
      c.w().EndObject();
    }
    c.w().EndArray();
  }
  period_if(c, "period", time);
  const std::string place = xml::text_of(xml::path(facility, {"location", "name"}));
  if (!place.empty()) {
    c.key("location");
    c.w().StartArray();
    c.w().StartObject();
    c.key("location");
    c.w().StartObject();
    c.str_if("display", place);
    c.w().EndObject();
    c.w().EndObject();
    c.w().EndArray();
  }
  if (!provider.empty()) c.reference("serviceProvider", provider);
  c.finish(std::move(index));
}

void write_document_reference(Context& c, const xmlNode* root, std::string_view xml_text) {
  if (!c.begin("DocumentReference", c.document_id)) return;
  IdentifierIndex index;
  Ident doc_id;
  if (identifier_of(c, child(root, "id"), doc_id)) {
    c.key("masterIdentifier");
    c.w().StartObject();
    c.str_if("system", doc_id.system);
    c.str_if("value", doc_id.value);
    c.w().EndObject();
    index.emplace_back(doc_id.system, doc_id.value);
  }
  c.str_if("status", "current");
  codeable_concept_or_absent(c, "type", child(root, "code"));
  c.key("category");
  c.w().StartArray();
  c.codeable_value("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note",
                   "Clinical Note");
  c.w().EndArray();
  c.subject();
  time_if(c, "date", attr(child(root, "effectiveTime"), "value"), TimeKind::Instant);
  c.reference_list("author", c.author_refs);
  if (!c.custodian_ref.empty()) c.reference("custodian", c.custodian_ref);
  // relatedDocument RPLC/APND/XFRM -> relatesTo (by identifier: the parent is elsewhere).
  bool relates = false;
  for (const xmlNode* rd : children(root, "relatedDocument")) {
    const std::string_view type = attr(rd, "typeCode");
    const std::string_view code = type == "RPLC" ? "replaces" : type == "APND" ? "appends"
                                : type == "XFRM" ? "transforms" : std::string_view{};
    Ident parent;
    if (code.empty() || !identifier_of(c, xml::path(rd, {"parentDocument", "id"}), parent)) continue;
    if (!relates) {
      c.key("relatesTo");
      c.w().StartArray();
      relates = true;
    }
    c.w().StartObject();
    c.str_if("code", code);
    c.key("target");
    c.w().StartObject();
    c.key("identifier");
    c.w().StartObject();
    c.str_if("system", parent.system);
    c.str_if("value", parent.value);
    c.w().EndObject();
    c.w().EndObject();
    c.w().EndObject();
  }
  if (relates) c.w().EndArray();
  const std::string title = xml::text_of(child(root, "title"));
  c.str_if("description", title);
  if (const xmlNode* conf = child(root, "confidentialityCode"); !cd_code(conf).empty()) {
    c.key("securityLabel");
    c.w().StartArray();
    c.w().StartObject();
    c.key("coding");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("system", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality");
    c.str_if("code", cd_code(conf));
    c.w().EndObject();
    c.w().EndArray();
    c.w().EndObject();
    c.w().EndArray();
  }
  c.key("content");
  c.w().StartArray();
  c.w().StartObject();
  c.key("attachment");
  c.w().StartObject();
  c.str_if("contentType", "application/cda+xml");
  c.str_if("data", base64(xml_text));
  c.key("size");
  c.w().Uint64(xml_text.size());
  c.str_if("hash", sha1_base64(xml_text));
  c.str_if("title", title);
  time_if(c, "creation", attr(child(root, "effectiveTime"), "value"));
  c.w().EndObject();
  c.w().EndObject();
  c.w().EndArray();
  document_context_if(c, xml::path(root, {"documentationOf", "serviceEvent", "effectiveTime"}));
  c.finish(std::move(index));
}

void write_provenance(Context& c, const xmlNode* root) {
  std::vector<std::string> targets;
  targets.reserve(c.targets.size());
  for (const auto& t : c.targets)
    if (t != c.document_ref) targets.push_back(t);
  std::string recorded;
  // When the document was recorded: its effectiveTime, else when its first author wrote it.
  bool has_recorded = recorded_instant(c, attr(child(root, "effectiveTime"), "value"), recorded);
  if (!has_recorded) has_recorded = recorded_instant(c, attr(xml::path(root, {"author", "time"}), "value"), recorded);
  // A document with no time at all (CDA requires effectiveTime) gets no Provenance: recorded
  // is required and is not invented (validators refuse a data-absent extension on it).
  if (!has_recorded || targets.empty() || !c.begin("Provenance", derive_resource_id("Provenance", {c.set_key}))) return;
  c.key("target");
  c.w().StartArray();
  for (const auto& t : targets) {
    c.w().StartObject();
    c.str_if("reference", t);
    c.w().EndObject();
  }
  c.w().EndArray();
  c.str_if("recorded", recorded);
  c.key("agent");
  c.w().StartArray();
  auto agent = [&](std::string_view type, std::string_view who) {
    c.w().StartObject();
    c.codeable("type", "http://terminology.hl7.org/CodeSystem/provenance-participant-type", type, {});
    c.reference("who", who);
    c.w().EndObject();
  };
  for (const auto& a : c.author_refs) agent("author", a);
  if (!c.custodian_ref.empty()) agent("custodian", c.custodian_ref);
  if (c.author_refs.empty() && c.custodian_ref.empty()) {
    c.w().StartObject();
    c.key("who");
    c.w().StartObject();
    c.str_if("display", c.in.source.empty() ? std::string_view("C-CDA document sender") : c.in.source);
    c.w().EndObject();
    c.w().EndObject();
  }
  c.w().EndArray();
  c.key("entity");
  c.w().StartArray();
  c.w().StartObject();
  c.str_if("role", "source");
  c.reference("what", c.document_ref);
  c.w().EndObject();
  c.w().EndArray();
  c.finish();
}

}  // namespace phrgate::ccda::detail
