// People and organizations in a C-CDA document: PN/EN names, AD addresses, TEL telecoms, and
// the Practitioner / Organization resources written for authors, custodians and performers
// (ids from their identifiers, e.g. NPI; without one, from the document set and content).
#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

std::string_view name_use(std::string_view use) {
  if (use == "L" || use == "OR") return "official";
  if (use == "P") return "nickname";
  if (use == "A") return "anonymous";
  if (use == "ASGN") return "usual";
  return {};
}

bool name_present(const xmlNode* name) {
  return name && !xml::has_null_flavor(name) && !xml::text_of(name).empty();
}

void write_name(Context& c, const xmlNode* name) {
  c.w().StartObject();
  c.str_if("use", name_use(attr(name, "use")));
  bool parts = false;
  std::string family;
  for (const xmlNode* f : children(name, "family")) {
    if (!family.empty()) family.push_back(' ');
    family += xml::text_of(f);
    parts = true;
  }
  c.str_if("family", family);
  for (std::string_view part : {"given", "prefix", "suffix"}) {
    bool open = false;
    for (const xmlNode* p : children(name, part)) {
      parts = true;
      const std::string t = xml::text_of(p);
      if (t.empty()) continue;
      if (!open) {
        c.key(part);
        c.w().StartArray();
        open = true;
      }
      c.string(t);
    }
    if (open) c.w().EndArray();
  }
  if (!parts) c.str_if("text", xml::text_of(name));
  c.w().EndObject();
}

std::string_view address_use(std::string_view use) {
  if (use == "H" || use == "HP" || use == "HV") return "home";
  if (use == "WP" || use == "DIR" || use == "PUB") return "work";
  if (use == "TMP") return "temp";
  if (use == "BAD") return "old";
  return {};
}

std::string_view telecom_use(std::string_view use) {
  if (use == "MC" || use == "PG") return "mobile";
  return address_use(use);
}

}  // namespace

void names_if(Context& c, const xmlNode* parent) {
  bool open = false;
  for (const xmlNode* n : children(parent, "name")) {
    if (!name_present(n)) continue;
    if (!open) {
      c.key("name");
      c.w().StartArray();
      open = true;
    }
    write_name(c, n);
  }
  if (open) c.w().EndArray();
}

void addresses_if(Context& c, const xmlNode* parent, bool organization) {
  bool open = false;
  for (const xmlNode* a : children(parent, "addr")) {
    if (xml::has_null_flavor(a) || xml::text_of(a).empty()) continue;
    if (!open) {
      c.key("address");
      c.w().StartArray();
      open = true;
    }
    c.w().StartObject();
    std::string_view use = attr(a, "use");
    const std::string_view fhir_use = address_use(use);
    if (!(organization && fhir_use == "home")) c.str_if("use", fhir_use);  // org-2
    if (use == "PST") c.str_if("type", "postal");
    if (use == "PHYS") c.str_if("type", "physical");
    bool lines = false;
    for (const xmlNode* l : children(a, "streetAddressLine")) {
      const std::string t = xml::text_of(l);
      if (t.empty()) continue;
      if (!lines) {
        c.key("line");
        c.w().StartArray();
        lines = true;
      }
      c.string(t);
    }
    if (lines) c.w().EndArray();
    c.str_if("city", xml::text_of(child(a, "city")));
    c.str_if("district", xml::text_of(child(a, "county")));
    c.str_if("state", xml::text_of(child(a, "state")));
    c.str_if("postalCode", xml::text_of(child(a, "postalCode")));
    c.str_if("country", xml::text_of(child(a, "country")));
    if (const xmlNode* p = child(a, "useablePeriod")) period_if(c, "period", p);
    c.w().EndObject();
  }
  if (open) c.w().EndArray();
}

void telecoms_if(Context& c, const xmlNode* parent, bool organization) {
  bool open = false;
  for (const xmlNode* t : children(parent, "telecom")) {
    std::string_view value = attr(t, "value");
    if (xml::has_null_flavor(t) || value.empty()) continue;
    std::string_view system;
    auto strip = [&](std::string_view scheme, std::string_view sys) {
      if (!system.empty() || value.substr(0, scheme.size()) != scheme) return;
      value.remove_prefix(scheme.size());
      system = sys;
    };
    strip("tel:", "phone");
    strip("mailto:", "email");
    strip("fax:", "fax");
    if (system.empty() && (value.rfind("http:", 0) == 0 || value.rfind("https:", 0) == 0)) system = "url";
    if (system.empty()) system = "other";
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.empty()) continue;
    if (!open) {
      c.key("telecom");
      c.w().StartArray();
      open = true;
    }
    c.w().StartObject();
    c.str_if("system", system);
    c.str_if("value", value);
    const std::string_view use = telecom_use(attr(t, "use"));
    if (!(organization && use == "home")) c.str_if("use", use);  // org-3
    c.w().EndObject();
  }
  if (open) c.w().EndArray();
}

std::string organization_for(Context& c, const xmlNode* org) {
  if (!org || xml::has_null_flavor(org)) return {};
  const xmlNode* name = child(org, "name");
  const std::string name_text = xml::text_of(name);
  Ident first;
  bool has_id = false;
  for (const xmlNode* id : children(org, "id"))
    if (!attr(id, "extension").empty() && identifier_of(c, id, first)) {
      has_id = true;
      break;
    }
  if (!has_id && name_text.empty()) return {};
  const std::string id = has_id ? derive_resource_id("Organization", {first.system, first.value})
                                : derive_resource_id("Organization", {c.set_key, "name", name_text});
  const std::string r = c.ref("Organization", id);
  if (!c.begin("Organization", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, org, &index);
  c.str_if("name", name_text);
  telecoms_if(c, org, true);
  addresses_if(c, org, true);
  c.finish(std::move(index));
  return r;
}

std::string practitioner_for(Context& c, const xmlNode* assigned) {
  if (!assigned) return {};
  const xmlNode* person = child(assigned, "assignedPerson");
  if (!person) person = child(assigned, "associatedPerson");
  const xmlNode* org = child(assigned, "representedOrganization");
  if (!person || xml::has_null_flavor(person)) return organization_for(c, org);
  Ident first;
  bool has_id = false;
  for (const xmlNode* id : children(assigned, "id"))
    if (!attr(id, "extension").empty() && identifier_of(c, id, first)) {
      has_id = true;
      break;
    }
  std::string who = xml::text_of(child(person, "name"));
  if (!has_id && who.empty()) return organization_for(c, org);
  const std::string id = has_id ? derive_resource_id("Practitioner", {first.system, first.value})
                                : derive_resource_id("Practitioner", {c.set_key, "name", who});
  const std::string r = c.ref("Practitioner", id);
  if (!c.begin("Practitioner", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, assigned, &index);
  names_if(c, person);
  telecoms_if(c, assigned);
  addresses_if(c, assigned);
  c.finish(std::move(index));
  return r;
}

std::string participant_ref(Context& c, const xmlNode* participation) {
  if (!participation) return {};
  if (const xmlNode* a = child(participation, "assignedAuthor")) return practitioner_for(c, a);
  if (const xmlNode* a = child(participation, "assignedEntity")) return practitioner_for(c, a);
  return {};
}

}  // namespace phrgate::ccda::detail
