// Test helpers for the C-CDA converter tests: fixture loading (the fictional CCD header with
// section fragments spliced in), conversion with the repository's mapping tables, and the
// structural FHIR checks every conversion must pass (valid JSON, no empty values, ids and
// references resolving inside the result). Header-only; tests only.
#pragma once

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/ccda/ccda_to_fhir.h"
#include "gateway/mapping/code_map.h"

namespace phrgate::ccda::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string fixture(const std::string& name) { return read_text(std::string(PHRGATE_CCDA_FIXTURES) + "/" + name); }

// The header fixture with `body` in place of its <!--SECTIONS--> marker.
inline std::string document_around(const std::string& body) {
  std::string doc = fixture("header.xml");
  const std::string marker = "<!--SECTIONS-->";
  doc.replace(doc.find(marker), marker.size(), body);
  return doc;
}

// The header fixture with these section fragments (fixtures/sections/<name>.xml) inserted.
inline std::string document_with(std::initializer_list<std::string> sections,
                                 const std::map<std::string, std::string>& replace = {}) {
  std::string body;
  for (const auto& s : sections) body += fixture("sections/" + s + ".xml");
  std::string doc = document_around(body);
  for (const auto& [from, to] : replace) {
    const std::size_t at = doc.find(from);
    if (at == std::string::npos) throw std::runtime_error("fixture has no " + from);
    doc.replace(at, from.size(), to);
  }
  return doc;
}

// The tables the converter reads (the OID table and the registry of systems), loaded from
// the repository's mappings/ so other components' tables cannot break these tests.
inline const mapping::CodeMaps& code_maps() {
  static const mapping::CodeMaps maps = [] {
    std::vector<std::string> errors;
    const std::string dir = PHRGATE_MAPPINGS_DIR;
    auto m = mapping::CodeMaps::load_texts(
        {{"code_systems.csv", read_text(dir + "/code_systems.csv")},
         {"oids/oid_to_fhir_uri.csv", read_text(dir + "/oids/oid_to_fhir_uri.csv")}},
        &errors);
    if (!m) throw std::runtime_error("cannot load mappings: " + (errors.empty() ? std::string() : errors.front()));
    return std::move(*m);
  }();
  return maps;
}

inline pipeline::ConvertedMessage convert(const std::string& xml, CcdaConvertStats* stats = nullptr,
                                          bool uuid_references = false, std::string_view zone = "Z") {
  pipeline::ConvertInput in;
  in.payload = xml;
  in.source = "test-ccda";
  in.code_maps = &code_maps();
  in.uuid_references = uuid_references;
  in.settings.default_zone = std::string(zone);
  return convert_ccda_document(in, {}, stats);
}

// Parsed resources of one conversion, by type.
struct Parsed {
  std::vector<std::unique_ptr<rapidjson::Document>> docs;
  std::multimap<std::string, const rapidjson::Document*> by_type;

  std::vector<const rapidjson::Document*> all(const std::string& type) const {
    std::vector<const rapidjson::Document*> out;
    auto [a, b] = by_type.equal_range(type);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
  }
  const rapidjson::Document* one(const std::string& type) const {
    auto v = all(type);
    return v.size() == 1 ? v.front() : nullptr;
  }
  std::size_t count(const std::string& type) const { return by_type.count(type); }
  // The resource of `type` whose JSON text contains `needle`.
  const rapidjson::Document* find(const std::string& type, const std::string& needle) const;
};

inline std::string json_of(const rapidjson::Value& v);

inline Parsed parse(const pipeline::ConvertedMessage& m) {
  Parsed p;
  for (const auto& r : m.resources) {
    auto d = std::make_unique<rapidjson::Document>();
    d->Parse(r.json.data(), r.json.size());
    if (d->HasParseError()) throw std::runtime_error(r.type + ": invalid JSON");
    p.by_type.emplace(r.type, d.get());
    p.docs.push_back(std::move(d));
  }
  return p;
}

inline std::string json_of(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

inline const rapidjson::Document* Parsed::find(const std::string& type, const std::string& needle) const {
  for (const auto* d : all(type))
    if (json_of(*d).find(needle) != std::string::npos) return d;
  return nullptr;
}

// "" when `v` has no empty string/array/object, else the path of one.
inline std::string find_empty(const rapidjson::Value& v, const std::string& path) {
  if (v.IsString() && v.GetStringLength() == 0) return path;
  if (v.IsArray()) {
    if (v.Empty()) return path;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (auto p = find_empty(v[i], path + "[" + std::to_string(i) + "]"); !p.empty()) return p;
  }
  if (v.IsObject()) {
    if (v.MemberCount() == 0) return path;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
      if (auto p = find_empty(it->value, path + "." + it->name.GetString()); !p.empty()) return p;
  }
  return {};
}

inline void collect_references(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString()) == "reference" && it->value.IsString())
        out.emplace_back(it->value.GetString());
      else
        collect_references(it->value, out);
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collect_references(e, out);
  }
}

// The structural rules; returns the first problem, or "".
// `require_provenance`: false for documents without any time (they get none).
inline std::string check_structure(const pipeline::ConvertedMessage& m, bool uuid_references = false,
                                   bool require_provenance = true) {
  if (!m.ok) return "conversion failed: " + m.error;
  std::set<std::string> known;
  for (const auto& r : m.resources)
    if (!known.insert(uuid_references ? "urn:uuid:" + r.id : r.type + "/" + r.id).second)
      return r.type + ": the same id twice";
  int patients = 0, provenances = 0;
  for (const auto& r : m.resources) {
    rapidjson::Document d;
    d.Parse(r.json.data(), r.json.size());
    if (d.HasParseError() || !d.IsObject()) return r.type + ": invalid JSON";
    if (!d.HasMember("resourceType") || r.type != d["resourceType"].GetString()) return r.type + ": resourceType";
    if (!d.HasMember("id") || r.id != d["id"].GetString()) return r.type + ": id mismatch";
    if (auto p = find_empty(d, r.type); !p.empty()) return "empty value at " + p;
    if (r.person_id != m.person_id) return r.type + ": person_id differs";
    std::vector<std::string> refs;
    collect_references(d, refs);
    for (const auto& ref : refs)
      if (!known.count(ref)) return r.type + ": dangling reference " + ref;
    patients += r.type == "Patient";
    provenances += r.type == "Provenance";
    if (r.type == "Patient" && r.id != m.person_id) return "Patient id differs from person_id";
  }
  if (patients != 1) return "expected one Patient";
  if (require_provenance ? provenances != 1 : provenances > 1) return "expected one Provenance";
  return {};
}

// A document converted, required to succeed with a clean structure, and parsed.
struct ConvertedDoc {
  pipeline::ConvertedMessage msg;
  Parsed p;
  CcdaConvertStats stats;
};

inline ConvertedDoc convert_clean(const std::string& doc) {
  ConvertedDoc c;
  c.msg = convert(doc, &c.stats);
  INFO(c.msg.error);
  REQUIRE(c.msg.ok);
  INFO(check_structure(c.msg));
  REQUIRE(check_structure(c.msg).empty());
  c.p = parse(c.msg);
  return c;
}

// A string member of a JSON object; "" when absent or not a string.
inline std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : std::string();
}

}  // namespace phrgate::ccda::test
