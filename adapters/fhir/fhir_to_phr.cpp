// FHIR JSON -> PHR resources (see fhir_to_phr.h): parse and check, derive ids, rewrite
// references, group by Patient, add a Provenance per person. One pass to index the payload's
// resources, one walk per resource to rewrite it.
#include "adapters/fhir/fhir_to_phr.h"

#include <chrono>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "adapters/fhir/fhir_identifiers.h"
#include "adapters/fhir/fhir_json_doc.h"
#include "adapters/fhir/fhir_resource_types.h"
#include "adapters/fhir/fhir_validate.h"
#include "gateway/core/resource_id.h"

namespace phrgate::fhir {
namespace {

using Alloc = rapidjson::Document::AllocatorType;

struct Item {
  PayloadEntry* entry = nullptr;
  std::string new_id;
  std::string person;  // the person this resource belongs to; "" = shared by every person
  bool patient = false;
  bool duplicate = false;
  store::FhirResource out;
};

std::string now_instant() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A FHIR instant: YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm). Checked by shape only.
bool looks_like_instant(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  return s.back() == 'Z' || (s.size() >= 25 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-'));
}

bool is_absolute_http(std::string_view s) { return s.substr(0, 7) == "http://" || s.substr(0, 8) == "https://"; }

// "https://x/fhir/Observation/1" -> "https://x/fhir" (empty when it does not end in Type/id).
std::string_view base_of(std::string_view url) {
  const std::size_t id_slash = url.rfind('/');
  if (id_slash == std::string_view::npos || id_slash == 0) return {};
  const std::size_t type_slash = url.rfind('/', id_slash - 1);
  if (type_slash == std::string_view::npos) return {};
  if (!is_r4_resource_type(url.substr(type_slash + 1, id_slash - type_slash - 1))) return {};
  return url.substr(0, type_slash);
}

std::string_view strip_history(std::string_view ref) {
  const std::size_t h = ref.find("/_history/");
  return h == std::string_view::npos ? ref : ref.substr(0, h);
}

class Converter {
 public:
  Converter(const pipeline::ConvertInput& in, FhirConvertStats* stats)
      : in_(in), stats_(stats), idc_{in.source, in.code_maps} {}

  std::vector<pipeline::ConvertedMessage> run() {
    std::vector<pipeline::ConvertedMessage> results;
    if (!parse_fhir_json(in_.payload, doc_, error_) || !check_fhir_document(doc_, sum_, error_))
      return fail();
    control_id_ = !sum_.identifier.empty() ? sum_.identifier : sum_.id;
    payload_hash_ = sha256_hex(in_.payload);
    if (control_id_.empty()) control_id_ = "sha256:" + payload_hash_.substr(0, 16);
    if (stats_) stats_->entries_skipped += sum_.skipped_entries;
    if (!index_resources()) return fail();
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (!items_[i].duplicate && !rewrite(items_[i])) return fail();
    if (persons_.empty()) {
      error_ = items_.empty() ? "the payload holds no resource the PHR keeps"
                              : "the payload has no Patient: its resources cannot be filed under a person "
                                "(send the Patient in the same Bundle)";
      return fail();
    }
    for (const std::string& person : persons_) results.push_back(message_for(person));
    if (stats_) stats_->patients += persons_.size();
    return results;
  }

 private:
  std::vector<pipeline::ConvertedMessage> fail() {
    pipeline::ConvertedMessage m;
    m.control_id = control_id_;
    m.error = "FHIR: " + error_;
    return {std::move(m)};
  }

  std::string entry_name(const PayloadEntry& e) const {
    if (sum_.resource_type != "Bundle") return e.type;
    return "Bundle.entry[" + std::to_string(e.entry_index) + "](" + e.type + ")";
  }

  bool index_resources() {
    for (PayloadEntry& e : sum_.entries) {
      if (e.dropped) {
        if (stats_) ++stats_->resources_dropped;
        continue;
      }
      Item item;
      item.entry = &e;
      if (e.type == "Patient") {
        std::string system, value;
        if (!patient_key_identifier(idc_, *e.resource, system, value)) {
          error_ = entry_name(e) + " has no identifier with a value: a Patient needs one to be linked to a person";
          return false;
        }
        item.new_id = patient_resource_id(system, value);
        item.patient = true;
        item.person = item.new_id;
        bool seen = false;
        for (const auto& p : persons_) seen |= p == item.person;
        if (seen) {
          item.duplicate = true;  // the same person twice: the first Patient is kept
        } else {
          persons_.push_back(item.person);
        }
      } else {
        const std::string_view key = !e.id.empty() ? std::string_view(e.id) : std::string_view(e.full_url);
        std::string content_key;
        if (key.empty()) {
          std::string json;
          write_fhir_json(json, *e.resource);
          content_key = "content:" + sha256_hex(json);
        }
        item.new_id = derive_resource_id(e.type, {in_.source, key.empty() ? std::string_view(content_key) : key});
      }
      const std::size_t index = items_.size();
      auto add_key = [&](std::string k) {
        if (!k.empty()) by_key_.emplace(std::move(k), index);
      };
      add_key(e.full_url);
      if (!e.id.empty()) add_key(e.type + "/" + e.id);
      if (const std::string_view base = base_of(e.full_url); is_absolute_http(e.full_url) && !base.empty()) {
        bool known = false;
        for (const auto& b : bases_) known |= b == base;
        if (!known) bases_.emplace_back(base);
      }
      // The same resource twice (e.g. on two overlapping search pages) is written once.
      if (!item.duplicate && !written_.insert(e.type + "/" + item.new_id).second) item.duplicate = true;
      items_.push_back(std::move(item));
    }
    if (stats_)
      for (const Item& it : items_) {
        stats_->resources_kept += it.duplicate ? 0 : 1;
        stats_->locations.emplace_back(it.entry->entry_index, it.entry->type + "/" + it.new_id);
      }
    return true;
  }

  // Resolves a "Type/id" of this source that is not in the payload; false for a Patient.
  bool external(std::string_view rel, Item& from, std::string& out) {
    const std::size_t slash = rel.find('/');
    const std::string_view type = rel.substr(0, slash);
    if (type == "Patient") {
      error_ = entry_name(*from.entry) + " refers to a Patient that is not in the payload";
      return false;
    }
    out.assign(type).append("/");
    append_resource_id(out, type, {in_.source, rel.substr(slash + 1)});
    return true;
  }

  void link(Item& from, const Item& target, std::string& out) {
    if (target.patient && !from.patient && from.person.empty()) from.person = target.person;
    out = in_.uuid_references ? "urn:uuid:" + target.new_id : target.entry->type + "/" + target.new_id;
  }

  // The rewritten reference, or `out` left empty to keep it unchanged. False on an error.
  bool resolve(std::string_view ref, Item& from, std::string& out) {
    out.clear();
    if (ref.front() == '#' || ref.find('?') != std::string_view::npos) return true;
    auto it = by_key_.find(std::string(ref));
    if (it == by_key_.end()) it = by_key_.find(std::string(strip_history(ref)));
    if (it != by_key_.end()) {
      link(from, items_[it->second], out);
      return true;
    }
    if (ref.substr(0, 4) == "urn:") return true;  // an unresolvable urn stays as sent
    std::string_view rel = strip_history(ref);
    if (is_absolute_http(ref)) {
      const std::string_view base = base_of(rel);
      bool ours = false;
      for (const auto& b : bases_) ours |= b == base;
      if (!ours) return true;  // another server's resource: left as an absolute reference
      rel = rel.substr(base.size() + 1);
      it = by_key_.find(std::string(rel));
      if (it != by_key_.end()) {
        link(from, items_[it->second], out);
        return true;
      }
    }
    return external(rel, from, out);
  }

  bool rewrite_refs(rapidjson::Value& v, Item& from, int depth) {
    if (depth > 64) return true;
    if (v.IsObject()) {
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        if (view(m->name) == "reference" && m->value.IsString() && !is_marked_number(m->value)) {
          if (!resolve(view(m->value), from, scratch_)) return false;
          if (!scratch_.empty())
            m->value.SetString(scratch_.data(), static_cast<rapidjson::SizeType>(scratch_.size()), doc_.GetAllocator());
        } else if (m->value.IsObject() || m->value.IsArray()) {
          if (!rewrite_refs(m->value, from, depth + 1)) return false;
        }
      }
    } else if (v.IsArray()) {
      for (auto& e : v.GetArray())
        if (!rewrite_refs(e, from, depth + 1)) return false;
    }
    return true;
  }

  bool rewrite(Item& item) {
    rapidjson::Value& r = *item.entry->resource;
    Alloc& alloc = doc_.GetAllocator();
    if (!rewrite_refs(r, item, 0)) return false;
    item.out.identifiers = normalize_identifiers(idc_, r, alloc);
    normalize_codings(idc_, r, alloc);
    rapidjson::Value id(item.new_id.data(), static_cast<rapidjson::SizeType>(item.new_id.size()), alloc);
    if (rapidjson::Value* old = member(r, "id")) {
      *old = std::move(id);
    } else {
      r.AddMember("id", std::move(id), alloc);
    }
    item.out.type = item.entry->type;
    item.out.id = item.new_id;
    write_fhir_json(item.out.json, r, "meta");
    return true;
  }

  std::string provenance_json(const std::string& id, const std::vector<std::string>& targets) const {
    rapidjson::Document p(rapidjson::kObjectType);
    Alloc& a = p.GetAllocator();
    auto str = [&a](std::string_view s) {
      return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
    };
    auto coding_cc = [&](std::string_view system, std::string_view code, std::string_view display) {
      rapidjson::Value coding(rapidjson::kObjectType);
      coding.AddMember("system", str(system), a).AddMember("code", str(code), a).AddMember("display", str(display), a);
      rapidjson::Value cc(rapidjson::kObjectType), arr(rapidjson::kArrayType);
      arr.PushBack(std::move(coding), a);
      cc.AddMember("coding", std::move(arr), a);
      return cc;
    };
    p.AddMember("resourceType", "Provenance", a).AddMember("id", str(id), a);
    rapidjson::Value target(rapidjson::kArrayType);
    for (const auto& t : targets) {
      rapidjson::Value ref(rapidjson::kObjectType);
      ref.AddMember("reference", str(t), a);
      target.PushBack(std::move(ref), a);
    }
    p.AddMember("target", std::move(target), a);
    p.AddMember("recorded", str(looks_like_instant(sum_.timestamp) ? sum_.timestamp : now_instant()), a);
    rapidjson::Value activity = coding_cc("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create");
    const std::string text = "FHIR " + (sum_.bundle_type.empty() ? sum_.resource_type : sum_.bundle_type + " Bundle");
    activity.AddMember("text", str(text), a);
    p.AddMember("activity", std::move(activity), a);
    rapidjson::Value agent(rapidjson::kObjectType), who(rapidjson::kObjectType), agents(rapidjson::kArrayType);
    agent.AddMember("type",
                    coding_cc("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"),
                    a);
    who.AddMember("display", str(std::string("phrgate source ") + std::string(in_.source)), a);
    agent.AddMember("who", std::move(who), a);
    agents.PushBack(std::move(agent), a);
    p.AddMember("agent", std::move(agents), a);
    rapidjson::Value entity(rapidjson::kObjectType), what(rapidjson::kObjectType), entities(rapidjson::kArrayType);
    if (!bases_.empty()) {
      rapidjson::Value ident(rapidjson::kObjectType);
      ident.AddMember("system", "urn:ietf:rfc:3986", a).AddMember("value", str(bases_.front()), a);
      what.AddMember("identifier", std::move(ident), a);
      what.AddMember("display", str("FHIR server " + bases_.front()), a);
    } else {
      what.AddMember("display", str(std::string("FHIR payload from ") + std::string(in_.source)), a);
    }
    entity.AddMember("role", "source", a).AddMember("what", std::move(what), a);
    entities.PushBack(std::move(entity), a);
    p.AddMember("entity", std::move(entities), a);
    std::string out;
    write_fhir_json(out, p);
    return out;
  }

  pipeline::ConvertedMessage message_for(const std::string& person) {
    pipeline::ConvertedMessage m;
    m.ok = true;
    m.control_id = control_id_;
    m.person_id = person;
    std::vector<std::string> targets;
    auto take = [&](Item& it) {
      store::FhirResource r = it.out;  // shared resources go to several messages
      r.person_id = person;
      targets.push_back(in_.uuid_references ? "urn:uuid:" + r.id : r.type + "/" + r.id);
      m.resources.push_back(std::move(r));
    };
    for (Item& it : items_)
      if (it.patient && !it.duplicate && it.person == person) take(it);
    for (Item& it : items_)
      if (!it.patient && !it.duplicate && (it.person == person || it.person.empty())) take(it);
    store::FhirResource prov;
    prov.type = "Provenance";
    prov.id = derive_resource_id("Provenance", {in_.source, person, payload_hash_});
    prov.person_id = person;
    prov.json = provenance_json(prov.id, targets);
    m.resources.push_back(std::move(prov));
    return m;
  }

  const pipeline::ConvertInput& in_;
  FhirConvertStats* stats_;
  IdentifierContext idc_;
  rapidjson::Document doc_;
  PayloadSummary sum_;
  std::string error_;
  std::string control_id_;
  std::string payload_hash_;
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::unordered_set<std::string> written_;
  std::vector<std::string> bases_;
  std::vector<std::string> persons_;
  std::string scratch_;
};

}  // namespace

std::vector<pipeline::ConvertedMessage> convert_fhir(const pipeline::ConvertInput& in, FhirConvertStats* stats) {
  return Converter(in, stats).run();
}

bool sniff_fhir_json(std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  while (!head.empty() && (head.front() == ' ' || head.front() == '\t' || head.front() == '\r' || head.front() == '\n'))
    head.remove_prefix(1);
  return !head.empty() && head.front() == '{' && head.find("\"resourceType\"") != std::string_view::npos;
}

}  // namespace phrgate::fhir
