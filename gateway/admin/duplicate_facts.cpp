// Same-fact grouping (see duplicate_facts.h): parses only AllergyIntolerance, Immunization and
// Observation resources, extracts what makes them "the same fact", and groups them greedily in
// lastUpdated order against each group's primary. Observations and immunizations are bucketed
// by their time key first, so the pairwise comparison stays within one minute / one day.
#include "gateway/admin/duplicate_facts.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <utility>

namespace phrgate::admin {
namespace {

using Json = rapidjson::Value;

std::string_view string_member(const Json& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const Json* object_member(const Json& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

struct Coding {
  std::string system;
  std::string code;
};

// The codings of a CodeableConcept that carry both a system and a code.
std::vector<Coding> codings_of(const Json* codeable_concept) {
  std::vector<Coding> out;
  if (codeable_concept == nullptr) return out;
  auto it = codeable_concept->FindMember("coding");
  if (it == codeable_concept->MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& c : it->value.GetArray()) {
    std::string_view system = string_member(c, "system");
    std::string_view code = string_member(c, "code");
    if (!system.empty() && !code.empty()) out.push_back({std::string(system), std::string(code)});
  }
  return out;
}

bool share_a_coding(const std::vector<Coding>& a, const std::vector<Coding>& b) {
  for (const auto& x : a)
    for (const auto& y : b)
      if (x.system == y.system && x.code == y.code) return true;
  return false;
}

// The day of a FHIR date/dateTime as written ("2024-05-01"; partial dates stay partial).
std::string day_key(std::string_view date_time) {
  return std::string(date_time.substr(0, std::min<std::size_t>(date_time.size(), 10)));
}

// A FHIR dateTime to the minute: "YYYY-MM-DDThh:mmZ" in UTC when it has an offset,
// "YYYY-MM-DDThh:mm" when it has a time without offset, the date as written otherwise.
std::string minute_key(std::string_view date_time) {
  if (date_time.size() < 16 || date_time[10] != 'T') return day_key(date_time);
  const std::string local(date_time.substr(0, 16));
  std::size_t zone = 16;
  while (zone < date_time.size() && date_time[zone] != 'Z' && date_time[zone] != '+' &&
         date_time[zone] != '-')
    ++zone;
  if (zone == date_time.size()) return local;
  int offset_minutes = 0;
  if (date_time[zone] != 'Z') {
    int hh = 0, mm = 0;
    const std::string offset(date_time.substr(zone + 1));
    if (std::sscanf(offset.c_str(), "%2d:%2d", &hh, &mm) != 2) return local;
    offset_minutes = (hh * 60 + mm) * (date_time[zone] == '-' ? -1 : 1);
  }
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0;
  if (std::sscanf(local.c_str(), "%4d-%2d-%2dT%2d:%2d", &year, &mon, &day, &hour, &min) != 5)
    return local;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min - offset_minutes;
  const std::time_t t = timegm(&tm);  // normalizes the shifted minutes
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min);
  return buf;
}

std::string serialized(const Json& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  value.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// An Observation (or component) value[x].
struct FactValue {
  enum class Kind { None, Quantity, Concept, String, Other } kind = Kind::None;
  double number = 0;
  std::string comparator, unit, unit_system, unit_code;
  std::vector<Coding> codings;
  std::string text;  // valueString, or "<member>=<JSON>" for other types
};

FactValue value_of(const Json& object) {
  FactValue v;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (!name.starts_with("value") || name.size() == 5) continue;
    if (name == "valueQuantity" && it->value.IsObject()) {
      auto number = it->value.FindMember("value");
      if (number == it->value.MemberEnd() || !number->value.IsNumber()) return v;
      v.kind = FactValue::Kind::Quantity;
      v.number = number->value.GetDouble();
      v.comparator = string_member(it->value, "comparator");
      v.unit = string_member(it->value, "unit");
      v.unit_system = string_member(it->value, "system");
      v.unit_code = string_member(it->value, "code");
    } else if (name == "valueCodeableConcept" && it->value.IsObject()) {
      v.kind = FactValue::Kind::Concept;
      v.codings = codings_of(&it->value);
      v.text = string_member(it->value, "text");
    } else if (name == "valueString" && it->value.IsString()) {
      v.kind = FactValue::Kind::String;
      v.text.assign(it->value.GetString(), it->value.GetStringLength());
    } else {
      v.kind = FactValue::Kind::Other;
      v.text = std::string(name) + "=" + serialized(it->value);
    }
    return v;
  }
  return v;
}

bool same_value(const FactValue& a, const FactValue& b) {
  if (a.kind != b.kind || a.kind == FactValue::Kind::None) return false;
  switch (a.kind) {
    case FactValue::Kind::Quantity:
      if (a.number != b.number || a.comparator != b.comparator) return false;
      if (!a.unit_code.empty() && !b.unit_code.empty())
        return a.unit_code == b.unit_code &&
               (a.unit_system.empty() || b.unit_system.empty() || a.unit_system == b.unit_system);
      return (a.unit.empty() ? a.unit_code : a.unit) == (b.unit.empty() ? b.unit_code : b.unit);
    case FactValue::Kind::Concept:
      if (!a.codings.empty() || !b.codings.empty()) return share_a_coding(a.codings, b.codings);
      return !a.text.empty() && a.text == b.text;
    default:
      return a.text == b.text;
  }
}

struct Component {
  std::vector<Coding> code;
  FactValue value;
};

// What identifies a fact of one resource; `bucket` must be equal for a match to be tried.
struct Fact {
  std::size_t index = 0;
  std::string bucket;
  std::vector<Coding> code;
  FactValue value;                   // Observation
  std::vector<Component> components;  // Observation
  std::string status;                // Immunization
  std::string onset_day, recorded_day;  // AllergyIntolerance
  bool refuted = false;                 // AllergyIntolerance
};

bool same_components(const std::vector<Component>& a, const std::vector<Component>& b) {
  if (a.size() != b.size()) return false;
  std::vector<bool> used(b.size(), false);
  for (const auto& x : a) {
    bool paired = false;
    for (std::size_t j = 0; j < b.size() && !paired; ++j) {
      if (used[j] || !share_a_coding(x.code, b[j].code) || !same_value(x.value, b[j].value))
        continue;
      used[j] = paired = true;
    }
    if (!paired) return false;
  }
  return true;
}

bool same_fact(const Fact& a, const Fact& b) {
  if (a.bucket != b.bucket || !share_a_coding(a.code, b.code)) return false;
  if (a.bucket.starts_with("Observation|")) {
    if (a.value.kind == FactValue::Kind::None && b.value.kind == FactValue::Kind::None) {
      if (a.components.empty()) return false;
    } else if (!same_value(a.value, b.value)) {
      return false;
    }
    return same_components(a.components, b.components);
  }
  if (a.bucket.starts_with("Immunization|")) return a.status == b.status;
  // AllergyIntolerance
  if (a.refuted != b.refuted) return false;
  if (!a.onset_day.empty() && !b.onset_day.empty()) return a.onset_day == b.onset_day;
  if (!a.recorded_day.empty() && !b.recorded_day.empty()) return a.recorded_day == b.recorded_day;
  return true;
}

std::string_view verification_code(const Json& resource) {
  for (const auto& c : codings_of(object_member(resource, "verificationStatus"))) {
    if (c.code == "entered-in-error") return "entered-in-error";
    if (c.code == "refuted") return "refuted";
  }
  return {};
}

std::optional<Fact> observation_fact(const Json& r) {
  const std::string_view status = string_member(r, "status");
  if (status == "entered-in-error" || status == "cancelled") return std::nullopt;
  std::string_view time = string_member(r, "effectiveDateTime");
  if (time.empty()) time = string_member(r, "effectiveInstant");
  if (time.empty())
    if (const Json* period = object_member(r, "effectivePeriod")) time = string_member(*period, "start");
  if (time.empty()) return std::nullopt;
  Fact f;
  f.code = codings_of(object_member(r, "code"));
  f.value = value_of(r);
  if (auto it = r.FindMember("component"); it != r.MemberEnd() && it->value.IsArray()) {
    for (const auto& c : it->value.GetArray()) {
      if (!c.IsObject()) continue;
      f.components.push_back({codings_of(object_member(c, "code")), value_of(c)});
    }
  }
  if (f.value.kind == FactValue::Kind::None && f.components.empty()) return std::nullopt;
  f.bucket = "Observation|" + minute_key(time);
  return f;
}

std::optional<Fact> immunization_fact(const Json& r) {
  const std::string_view status = string_member(r, "status");
  if (status == "entered-in-error") return std::nullopt;
  const std::string_view time = string_member(r, "occurrenceDateTime");
  if (time.empty()) return std::nullopt;
  Fact f;
  f.code = codings_of(object_member(r, "vaccineCode"));
  f.status = status;
  f.bucket = "Immunization|" + day_key(time);
  return f;
}

std::optional<Fact> allergy_fact(const Json& r) {
  const std::string_view verification = verification_code(r);
  if (verification == "entered-in-error") return std::nullopt;
  Fact f;
  f.code = codings_of(object_member(r, "code"));
  f.refuted = verification == "refuted";
  std::string_view onset = string_member(r, "onsetDateTime");
  if (onset.empty())
    if (const Json* period = object_member(r, "onsetPeriod")) onset = string_member(*period, "start");
  f.onset_day = day_key(onset);
  f.recorded_day = day_key(string_member(r, "recordedDate"));
  f.bucket = "AllergyIntolerance|";
  return f;
}

std::optional<Fact> fact_of(const store::StoredResource& resource) {
  const bool candidate = resource.type == "Observation" || resource.type == "Immunization" ||
                         resource.type == "AllergyIntolerance";
  if (!candidate) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(resource.json.data(), resource.json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  std::optional<Fact> fact = resource.type == "Observation"    ? observation_fact(doc)
                             : resource.type == "Immunization" ? immunization_fact(doc)
                                                               : allergy_fact(doc);
  if (fact && fact->code.empty()) return std::nullopt;
  return fact;
}

}  // namespace

std::vector<SameFactGroup> find_same_fact_groups(
    const std::vector<store::StoredResource>& resources) {
  std::vector<Fact> facts;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (auto fact = fact_of(resources[i])) {
      fact->index = i;
      facts.push_back(std::move(*fact));
    }
  }
  // Earliest lastUpdated first (unknown last), ties in input order: the first of a group seen
  // here is its primary.
  std::stable_sort(facts.begin(), facts.end(), [&](const Fact& a, const Fact& b) {
    const std::string& ta = resources[a.index].last_updated;
    const std::string& tb = resources[b.index].last_updated;
    if (ta.empty() != tb.empty()) return tb.empty();
    return ta < tb;
  });

  struct Building {
    const Fact* primary;
    SameFactGroup group;
  };
  std::vector<Building> building;
  std::map<std::string, std::vector<std::size_t>> by_bucket;  // bucket -> indexes in `building`
  for (const Fact& fact : facts) {
    auto& candidates = by_bucket[fact.bucket];
    bool joined = false;
    for (std::size_t b : candidates) {
      if (!same_fact(*building[b].primary, fact)) continue;
      building[b].group.others.push_back(fact.index);
      joined = true;
      break;
    }
    if (!joined) {
      candidates.push_back(building.size());
      building.push_back({&fact, SameFactGroup{fact.index, {}}});
    }
  }

  std::vector<SameFactGroup> groups;
  for (auto& b : building) {
    if (b.group.others.empty()) continue;
    std::sort(b.group.others.begin(), b.group.others.end());
    groups.push_back(std::move(b.group));
  }
  std::sort(groups.begin(), groups.end(),
            [](const SameFactGroup& a, const SameFactGroup& b) { return a.primary < b.primary; });
  return groups;
}

std::string with_same_fact_extension(std::string_view resource_json,
                                     const std::vector<std::string>& references) {
  rapidjson::Document doc;
  doc.Parse(resource_json.data(), resource_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::string(resource_json);
  auto& alloc = doc.GetAllocator();
  auto it = doc.FindMember("extension");
  if (it == doc.MemberEnd()) {
    doc.AddMember("extension", Json(rapidjson::kArrayType), alloc);
    it = doc.FindMember("extension");
  }
  if (!it->value.IsArray()) return std::string(resource_json);
  for (const auto& reference : references) {
    Json value(rapidjson::kObjectType);
    value.AddMember("reference", Json(reference.c_str(), alloc), alloc);
    Json extension(rapidjson::kObjectType);
    extension.AddMember(
        "url",
        Json(kSameFactExtensionUrl.data(),
             static_cast<rapidjson::SizeType>(kSameFactExtensionUrl.size()), alloc),
        alloc);
    extension.AddMember("valueReference", value, alloc);
    it->value.PushBack(extension, alloc);
  }
  return serialized(doc);
}

std::vector<store::StoredResource> present_same_facts_once(
    std::vector<store::StoredResource> resources) {
  const auto groups = find_same_fact_groups(resources);
  if (groups.empty()) return resources;
  std::vector<bool> removed(resources.size(), false);
  for (const auto& group : groups) {
    std::vector<std::string> references;
    for (std::size_t other : group.others) {
      removed[other] = true;
      references.push_back(resources[other].type + "/" + resources[other].id);
    }
    auto& primary = resources[group.primary];
    primary.json = with_same_fact_extension(primary.json, references);
  }
  std::vector<store::StoredResource> presented;
  presented.reserve(resources.size());
  for (std::size_t i = 0; i < resources.size(); ++i)
    if (!removed[i]) presented.push_back(std::move(resources[i]));
  return presented;
}

}  // namespace phrgate::admin
