// Structural validation of FHIR JSON payloads (see fhir_validate.h). One recursive walk per
// resource with a depth limit; errors carry an element path such as
// "Bundle.entry[3].resource(Observation).subject.reference" and never a value.
#include "adapters/fhir/fhir_validate.h"

#include <array>

#include "adapters/fhir/fhir_json_doc.h"
#include "adapters/fhir/fhir_resource_types.h"
#include "gateway/core/resource_id.h"

namespace phrgate::fhir {
namespace {

constexpr int kMaxDepth = 64;

struct Required {
  std::string_view type;
  std::array<std::string_view, 4> elements;  // "name" or "name[x]"; empty = unused
};

// Cardinality-1 elements of common clinical types (FHIR R4), checked because they are cheap.
constexpr std::array<Required, 16> kRequired = {{
    {"AllergyIntolerance", {"patient"}},
    {"CarePlan", {"status", "intent", "subject"}},
    {"Condition", {"subject"}},
    {"Coverage", {"status", "beneficiary", "payor"}},
    {"DiagnosticReport", {"status", "code"}},
    {"DocumentReference", {"status", "content"}},
    {"Encounter", {"status", "class"}},
    {"FamilyMemberHistory", {"status", "patient", "relationship"}},
    {"Goal", {"lifecycleStatus", "description", "subject"}},
    {"Immunization", {"status", "vaccineCode", "patient", "occurrence[x]"}},
    {"MedicationRequest", {"status", "intent", "subject", "medication[x]"}},
    {"MedicationStatement", {"status", "medication[x]", "subject"}},
    {"Observation", {"status", "code"}},
    {"Procedure", {"status", "subject"}},
    {"Provenance", {"target", "recorded", "agent"}},
    {"ServiceRequest", {"status", "intent", "subject"}},
}};

bool is_bundle_type(std::string_view t) {
  for (std::string_view k : {"document", "message", "transaction", "transaction-response", "batch",
                             "batch-response", "history", "searchset", "collection"})
    if (t == k) return true;
  return false;
}

bool has_element(const rapidjson::Value& r, std::string_view name) {
  if (name.size() > 3 && name.substr(name.size() - 3) == "[x]") {
    const std::string_view prefix = name.substr(0, name.size() - 3);
    for (auto it = r.MemberBegin(); it != r.MemberEnd(); ++it) {
      const std::string_view k = view(it->name);
      if (k.size() > prefix.size() && k.substr(0, prefix.size()) == prefix && k[prefix.size()] >= 'A' &&
          k[prefix.size()] <= 'Z')
        return true;
    }
    return false;
  }
  return member(r, name) != nullptr;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool is_oid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  return s.find("..") == std::string_view::npos;
}

class Checker {
 public:
  explicit Checker(std::string& error) : error_(error) {}

  // `where`: "Bundle.entry[3].resource" or "" for a lone resource.
  bool resource(const rapidjson::Value& r, const std::string& where, int depth) {
    if (!r.IsObject()) return fail(where.empty() ? "the payload" : where, "is not a JSON object");
    const std::string_view type = string_member(r, "resourceType");
    if (type.empty()) return fail(where.empty() ? "the payload" : where, "has no resourceType");
    if (!is_r4_resource_type(type))
      return fail(where.empty() ? "the payload" : where, "has a resourceType that is not a FHIR R4 resource");
    std::string path = where.empty() ? std::string(type) : where + "(" + std::string(type) + ")";
    if (const rapidjson::Value* id = member(r, "id"); id && (!id->IsString() || !is_fhir_id(view(*id))))
      return fail(path + ".id", "is not a valid FHIR id");
    for (const Required& req : kRequired) {
      if (req.type != type) continue;
      for (std::string_view e : req.elements)
        if (!e.empty() && !has_element(r, e))
          return fail(path + "." + std::string(e), "is required but missing");
    }
    if (const rapidjson::Value* contained = member(r, "contained")) {
      if (!contained->IsArray()) return fail(path + ".contained", "is not an array");
      std::size_t i = 0;
      for (const auto& c : contained->GetArray()) {
        if (!resource(c, path + ".contained[" + std::to_string(i++) + "]", depth + 1)) return false;
      }
    }
    return elements(r, path, depth, true);
  }

 private:
  bool elements(const rapidjson::Value& v, const std::string& path, int depth, bool resource_root) {
    if (depth > kMaxDepth) return fail(path, "is nested too deeply");
    if (v.IsObject()) {
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        const std::string_view key = view(it->name);
        if (resource_root && (key == "contained" || key == "resourceType" || key == "id")) continue;
        if (key == "reference" && it->value.IsString() && !is_marked_number(it->value)) {
          if (!is_valid_reference(view(it->value))) return fail(path + ".reference", "is not a valid reference");
          continue;
        }
        if (key == "resource" || key == "resourceType") {
          // A resource inside an element (Parameters, nested Bundle): kept as data, not walked.
          continue;
        }
        if (!elements(it->value, path + "." + std::string(key), depth + 1, false)) return false;
      }
    } else if (v.IsArray()) {
      std::size_t i = 0;
      for (const auto& e : v.GetArray())
        if (!elements(e, path + "[" + std::to_string(i++) + "]", depth + 1, false)) return false;
    } else if (v.IsString() && !is_marked_number(v)) {
      for (char c : view(v)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') return fail(path, "contains a control character");
      }
    }
    return true;
  }

  bool fail(const std::string& where, std::string_view what) {
    error_ = where + " " + std::string(what);
    return false;
  }

  std::string& error_;
};

std::string_view version_of(const rapidjson::Value& r) {
  const rapidjson::Value* meta = member(r, "meta");
  return meta ? string_member(*meta, "versionId") : std::string_view{};
}

PayloadEntry entry_for(rapidjson::Value& r, std::size_t index) {
  PayloadEntry e;
  e.type = string_member(r, "resourceType");
  e.id = string_member(r, "id");
  e.version_id = version_of(r);
  e.entry_index = index;
  e.dropped = is_dropped_resource_type(e.type);
  e.resource = &r;
  return e;
}

}  // namespace

bool is_valid_reference(std::string_view ref) {
  if (ref.empty()) return false;
  for (char c : ref)
    if (static_cast<unsigned char>(c) <= 0x20) return false;
  if (ref.front() == '#') return true;
  if (ref.substr(0, 9) == "urn:uuid:") return is_uuid(ref.substr(9));
  if (ref.substr(0, 8) == "urn:oid:") return is_oid(ref.substr(8));
  if (ref.substr(0, 7) == "http://" || ref.substr(0, 8) == "https://") return ref.size() > 8;
  if (const std::size_t q = ref.find('?'); q != std::string_view::npos)
    return is_r4_resource_type(ref.substr(0, q));  // a conditional reference (transactions)
  const std::size_t slash = ref.find('/');
  if (slash == std::string_view::npos || !is_r4_resource_type(ref.substr(0, slash))) return false;
  std::string_view rest = ref.substr(slash + 1);
  const std::size_t h = rest.find("/_history/");
  if (h != std::string_view::npos) {
    if (!is_fhir_id(rest.substr(h + 10))) return false;
    rest = rest.substr(0, h);
  }
  return is_fhir_id(rest);
}

bool check_fhir_document(rapidjson::Document& doc, PayloadSummary& out, std::string& error) {
  out = PayloadSummary{};
  Checker check(error);
  if (!doc.IsObject()) {
    error = "the payload is not a JSON object";
    return false;
  }
  out.resource_type = string_member(doc, "resourceType");
  out.id = string_member(doc, "id");
  out.version_id = version_of(doc);
  if (out.resource_type != "Bundle") {
    if (!check.resource(doc, "", 0)) return false;
    out.entries.push_back(entry_for(doc, 0));
    return true;
  }
  out.bundle_type = string_member(doc, "type");
  if (!is_bundle_type(out.bundle_type)) {
    error = "Bundle.type is missing or not a Bundle type";
    return false;
  }
  if (const rapidjson::Value* id = member(doc, "id"); id && (!id->IsString() || !is_fhir_id(view(*id)))) {
    error = "Bundle.id is not a valid FHIR id";
    return false;
  }
  if (const rapidjson::Value* ident = member(doc, "identifier"); ident && ident->IsObject()) {
    const std::string_view value = string_member(*ident, "value");
    if (!value.empty()) out.identifier = std::string(string_member(*ident, "system")) + "|" + std::string(value);
  }
  out.timestamp = string_member(doc, "timestamp");
  rapidjson::Value* entries = member(doc, "entry");
  if (!entries) return true;
  if (!entries->IsArray()) {
    error = "Bundle.entry is not an array";
    return false;
  }
  std::size_t index = 0;
  for (auto& entry : entries->GetArray()) {
    const std::string where = "Bundle.entry[" + std::to_string(index) + "]";
    if (!entry.IsObject()) {
      error = where + " is not a JSON object";
      return false;
    }
    std::string_view method;
    if (const rapidjson::Value* req = member(entry, "request")) method = string_member(*req, "method");
    const rapidjson::Value* full_url = member(entry, "fullUrl");
    if (full_url && (!full_url->IsString() || !is_valid_reference(view(*full_url)) ||
                     view(*full_url).front() == '#')) {
      error = where + ".fullUrl is not a valid URI";
      return false;
    }
    rapidjson::Value* res = member(entry, "resource");
    if (!res || method == "DELETE") {
      ++out.skipped_entries;
      ++index;
      continue;
    }
    if (!check.resource(*res, where + ".resource", 1)) return false;
    PayloadEntry e = entry_for(*res, index);
    if (full_url) e.full_url = view(*full_url);
    e.method = method;
    out.entries.push_back(std::move(e));
    ++index;
  }
  return true;
}

bool check_fhir_payload(std::string_view payload, PayloadSummary& out, std::string& error) {
  rapidjson::Document doc;
  if (!parse_fhir_json(payload, doc, error)) return false;
  const bool ok = check_fhir_document(doc, out, error);
  for (auto& e : out.entries) e.resource = nullptr;
  return ok;
}

}  // namespace phrgate::fhir
