// The C-CDA conversion context: JSON writer slots, resource bookkeeping, deterministic ids
// (see ccda_context.h). Pure: no I/O, no clock.
#include "adapters/ccda/ccda_context.h"

#include "gateway/core/resource_id.h"
#include "gateway/mapping/code_map.h"

namespace phrgate::ccda::detail {

bool Context::begin(std::string_view type, const std::string& id) {
  std::string key_text;
  key_text.reserve(type.size() + 1 + id.size());
  key_text.append(type).push_back('/');
  key_text.append(id);
  if (written_.count(key_text)) return false;
  if (depth_ == slots_.size()) slots_.push_back(std::make_unique<Slot>());
  Slot& s = *slots_[depth_++];
  s.buffer.Clear();
  s.writer.Reset(s.buffer);
  s.type.assign(type);
  s.id = id;
  written_.insert(std::move(key_text));
  s.writer.StartObject();
  str_if("resourceType", type);
  str_if("id", id);
  return true;
}

void Context::finish(IdentifierIndex identifiers, bool only_if_absent) {
  Slot& s = *slots_[depth_ - 1];
  s.writer.EndObject();
  store::FhirResource r;
  r.type = s.type;
  r.id = s.id;
  r.person_id = patient_id;
  r.json.assign(s.buffer.GetString(), s.buffer.GetSize());
  r.identifiers = std::move(identifiers);
  r.only_if_absent = only_if_absent;
  if (r.type != "Provenance") targets.push_back(ref(r.type, r.id));
  out.resources.push_back(std::move(r));
  --depth_;
}

void Context::abandon_to(std::size_t d) {
  while (depth_ > d) {
    Slot& s = *slots_[depth_ - 1];
    written_.erase(s.type + "/" + s.id);
    --depth_;
  }
}

bool Context::written(std::string_view type, const std::string& id) const {
  std::string k(type);
  k.push_back('/');
  k.append(id);
  return written_.count(k) != 0;
}

std::string Context::ref(std::string_view type, std::string_view id) const {
  std::string r;
  if (in.uuid_references) r.append("urn:uuid:").append(id);
  else r.append(type).append("/").append(id);
  return r;
}

namespace {
// Element names, attributes and text of a subtree, for content-derived ids.
void digest(const xmlNode* n, std::string& out) {
  for (; n; n = n->next) {
    if (n->type == XML_ELEMENT_NODE) {
      out.push_back('<');
      out.append(xml::sv(n->name));
      for (const xmlAttr* a = n->properties; a; a = a->next) {
        out.push_back(' ');
        out.append(xml::sv(a->name)).push_back('=');
        if (a->children) out.append(xml::sv(a->children->content));
      }
      out.push_back('>');
      digest(n->children, out);
    } else if (n->type == XML_TEXT_NODE) {
      out.append(xml::sv(n->content));
    }
  }
}
}  // namespace

std::string Context::entry_id(std::string_view type, const xmlNode* node, std::string_view salt) const {
  // The entry's content as text (element names, attributes, text), built only when needed.
  auto content_of = [](const xmlNode* n) {
    std::string text;
    if (n) {
      text.append(xml::sv(n->name)).push_back('>');
      digest(n->children, text);
    }
    return text;
  };
  for (const xmlNode* id : xml::children(node, "id")) {
    if (xml::has_null_flavor(id)) continue;
    const std::string_view root = xml::attr(id, "root");
    if (root.empty()) continue;
    std::string by_id = derive_resource_id(type, {set_key, "id", root, xml::attr(id, "extension"), salt});
    // Senders reuse one id for several entries (HL7's own vital-sign examples do): a second
    // entry with an id already used this document but other content is told apart by its
    // content, so it is kept instead of being dropped as a repeat. The same entry met again
    // (one problem listed in two sections) keeps the id and is written once. Contents are
    // compared only when an id repeats.
    std::string key(type);
    key.push_back('/');
    key.append(by_id);
    auto [first, inserted] = first_entry_.try_emplace(std::move(key), node);
    if (inserted || first->second == node) return by_id;
    const std::string content = content_of(node);
    if (content == content_of(first->second)) return by_id;
    return derive_resource_id(type, {set_key, "id", root, xml::attr(id, "extension"), salt, "content", content});
  }
  return derive_resource_id(type, {set_key, "content", content_of(node), salt});
}

namespace {
bool is_uuid(std::string_view s) {
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
}  // namespace

void Context::system_for(std::string_view root, std::string& uri) const {
  if (is_uuid(root)) {
    uri.append("urn:uuid:");
    for (char ch : root) uri.push_back((ch >= 'A' && ch <= 'F') ? static_cast<char>(ch + 32) : ch);
    return;
  }
  if (in.code_maps) {
    if (const auto* m = in.code_maps->lookup("oid", root, in.source); m && !m->system.empty()) {
      uri.append(m->system);
      return;
    }
  }
  uri.append("urn:oid:").append(root);
}

void Context::codeable(std::string_view k, std::string_view system, std::string_view code,
                       std::string_view display) {
  key(k);
  codeable_value(system, code, display);
}

void Context::codeable_value(std::string_view system, std::string_view code, std::string_view display) {
  w().StartObject();
  key("coding");
  w().StartArray();
  w().StartObject();
  str_if("system", system);
  str_if("code", code);
  str_if("display", display);
  w().EndObject();
  w().EndArray();
  w().EndObject();
}

void Context::data_absent(std::string_view k, std::string_view reason) {
  key(k);
  w().StartObject();
  key("extension");
  w().StartArray();
  w().StartObject();
  str_if("url", kDataAbsentUrl);
  str_if("valueCode", reason);
  w().EndObject();
  w().EndArray();
  w().EndObject();
}

}  // namespace phrgate::ccda::detail
