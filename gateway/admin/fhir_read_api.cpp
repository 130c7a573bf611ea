// FhirReadApi handlers (see fhir_read_api.h): validate the request strictly (unknown
// parameters are 400 unless the client sends Prefer: handling=lenient), query the PhrStore,
// answer with FHIR JSON. Errors are OperationOutcomes whose diagnostics echo at most the
// requested id; store failures are logged without PHI and answered 500.
#include "gateway/admin/fhir_read_api.h"

#include "gateway/core/resource_id.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <initializer_list>
#include <limits>
#include <optional>
#include <utility>

#include "gateway/admin/duplicate_facts.h"
#include "gateway/admin/fhir_api_json.h"
#include "gateway/core/log.h"
#include "gateway/store/stored_json.h"

namespace phrgate::admin {
namespace {

using detail::fhir_error;

struct ParsedQuery {
  std::vector<std::pair<std::string, std::string>> search;  // accepted search params, in order
  int64_t count = 0;
  int64_t offset = 0;
};

// A parameter name is echoed in diagnostics only when it looks like one.
bool is_echoable_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == ':' || c == '$';
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> parse_non_negative(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

// _format: JSON only. A '+' in the query was decoded as a space, so both spellings count.
bool is_json_format(std::string_view format) {
  format = format.substr(0, format.find(';'));
  while (!format.empty() && format.back() == ' ') format.remove_suffix(1);
  std::string f(format);
  for (char& c : f)
    if (c == ' ') c = '+';
  return f == "json" || f == "application/json" || f == "application/fhir+json" ||
         f == "application/json+fhir";
}

bool lenient_handling(const http::Request& req) {
  const std::string* prefer = req.header("prefer");
  return prefer != nullptr && prefer->find("handling=lenient") != std::string::npos;
}

// Checks every query parameter: paging and _format are handled here; `allowed` search
// parameters are collected once each; anything else is refused (strict handling).
std::optional<http::Response> parse_query(const http::Request& req,
                                          std::initializer_list<std::string_view> allowed,
                                          const FhirReadApiOptions& options, ParsedQuery& out) {
  out.count = options.default_page_size;
  out.offset = 0;
  const bool lenient = lenient_handling(req);
  for (const auto& [name, value] : req.query) {
    if (name == "_count" || name == "_offset") {
      auto number = parse_non_negative(value);
      if (!number)
        return fhir_error(400, "invalid", "parameter '" + name + "' must be a non-negative integer");
      if (name == "_count")
        out.count = std::min<int64_t>(*number, options.max_page_size);
      else
        out.offset = *number;
      continue;
    }
    if (name == "_format") {
      if (!is_json_format(value))
        return fhir_error(406, "not-supported", "only the JSON format is supported");
      continue;
    }
    bool is_allowed = false;
    for (auto a : allowed) is_allowed = is_allowed || a == name;
    if (is_allowed) {
      for (const auto& [seen, unused] : out.search) {
        if (seen == name)
          return fhir_error(400, "not-supported",
                            "repeating parameter '" + name + "' is not supported");
      }
      out.search.emplace_back(name, value);
      continue;
    }
    if (lenient) continue;
    return fhir_error(400, "not-supported",
                      is_echoable_name(name)
                          ? "unknown or unsupported parameter '" + name + "'"
                          : std::string("unknown or unsupported parameter"));
  }
  return std::nullopt;
}

const std::string* search_value(const ParsedQuery& q, std::string_view name) {
  for (const auto& [k, v] : q.search)
    if (k == name) return &v;
  return nullptr;
}

// FHIR token "[system|]value" with '\' escapes. An unescaped ',' would mean OR (unsupported).
struct TokenQuery {
  bool has_system = false;
  std::string system;
  std::string value;
};

std::optional<http::Response> parse_token(std::string_view text, TokenQuery& out) {
  std::string current;
  bool split = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      current += text[++i];
    } else if (c == ',') {
      return fhir_error(400, "not-supported", "multiple identifier values are not supported");
    } else if (c == '|') {
      if (split) return fhir_error(400, "invalid", "identifier has more than one '|'");
      split = true;
      out.system = std::move(current);
      current.clear();
    } else {
      current += c;
    }
  }
  out.has_system = split;
  out.value = std::move(current);
  if (out.value.empty())
    return fhir_error(400, split ? "not-supported" : "invalid",
                      split ? "searching by identifier system alone is not supported"
                            : "identifier value is empty");
  return std::nullopt;
}

// patient=<id> | Patient/<id> | <base>/Patient/<id>.
std::optional<std::string> patient_reference_id(std::string_view ref, std::string_view base) {
  if (!base.empty() && ref.starts_with(base) && ref.substr(base.size()).starts_with("/"))
    ref.remove_prefix(base.size() + 1);
  if (ref.starts_with("Patient/")) ref.remove_prefix(8);
  if (!FhirReadApi::is_valid_id(ref)) return std::nullopt;
  return std::string(ref);
}

template <typename Fn>
http::Response guarded(std::string_view operation, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    // Store errors (SQLite messages) carry no PHI; the client gets no detail at all.
    log::error("fhir_api_failed", {{"operation", operation}, {"error", e.what()}});
    return fhir_error(500, "exception", "internal error");
  }
}

}  // namespace

bool FhirReadApi::is_supported_type(std::string_view type) {
  return type == "Patient" || detail::is_person_owned_type(type);
}

bool FhirReadApi::is_valid_id(std::string_view id) { return is_fhir_id(id); }

FhirReadApi::FhirReadApi(store::PhrStore& store, FhirReadApiOptions options)
    : store_(store), options_(std::move(options)) {
  while (!options_.base_url_hint.empty() && options_.base_url_hint.back() == '/')
    options_.base_url_hint.pop_back();
  if (options_.max_page_size < 1) options_.max_page_size = 1;
  options_.default_page_size = std::clamp(options_.default_page_size, 0, options_.max_page_size);
  link_base_ = options_.base_url_hint.empty() ? "/fhir" : options_.base_url_hint;
  full_url_prefix_ = options_.base_url_hint.empty() ? "" : options_.base_url_hint + "/";
  capability_json_ = detail::capability_statement(options_, store::fhir_instant_now());
}

http::Response FhirReadApi::metadata(const http::Request& req) {
  ParsedQuery query;
  if (auto error = parse_query(req, {}, options_, query)) return *error;
  return detail::fhir_response(200, capability_json_);
}

namespace {

// Self/next/previous links of a page: "<base><path>?<search params>&_count=N&_offset=M".
std::vector<detail::BundleLink> page_links(std::string_view link_base, std::string_view path,
                                           const ParsedQuery& q, int64_t total) {
  auto url = [&](int64_t offset) {
    std::string u(link_base);
    u += path;
    u += '?';
    for (const auto& [k, v] : q.search) {
      detail::append_percent_encoded(u, k);
      u += '=';
      detail::append_percent_encoded(u, v);
      u += '&';
    }
    u += "_count=" + std::to_string(q.count) + "&_offset=" + std::to_string(offset);
    return u;
  };
  std::vector<detail::BundleLink> links{{"self", url(q.offset)}};
  if (q.count > 0 && q.offset + q.count < total) links.push_back({"next", url(q.offset + q.count)});
  if (q.count > 0 && q.offset > 0)
    links.push_back({"previous", url(std::max<int64_t>(0, q.offset - q.count))});
  return links;
}

}  // namespace

http::Response FhirReadApi::search(const http::Request& req, std::string_view type) {
  if (!is_supported_type(type))
    return fhir_error(404, "not-supported", "resource type is not supported");
  const bool is_patient = type == "Patient";
  ParsedQuery query;
  if (auto error = parse_query(req, {is_patient ? "identifier" : "patient"}, options_, query))
    return *error;

  std::vector<std::string> persons;
  http::Response served = guarded("search", [&]() -> http::Response {
    store::SearchPage page;
    if (is_patient) {
      const std::string* identifier = search_value(query, "identifier");
      if (identifier == nullptr)
        return fhir_error(400, "required", "search parameter 'identifier' is required");
      TokenQuery token;
      if (auto error = parse_token(*identifier, token)) return *error;
      page = token.has_system ? store_.find_patients_by_exact_identifier(
                                    token.system, token.value, query.offset, query.count)
                              : store_.find_patients_by_identifier("", token.value, query.offset,
                                                                   query.count);
    } else {
      const std::string* patient = search_value(query, "patient");
      if (patient == nullptr)
        return fhir_error(400, "required", "search parameter 'patient' is required");
      auto person = patient_reference_id(*patient, options_.base_url_hint);
      if (!person) return fhir_error(400, "invalid", "'patient' is not a valid Patient reference");
      page = store_.find_by_person(*person, type, query.offset, query.count);
      persons.push_back(*person);
    }
    if (is_patient)
      for (const auto& r : page.resources) persons.push_back(r.person_id);
    auto links = page_links(link_base_, "/" + std::string(type), query, page.total);
    return detail::fhir_response(200, detail::searchset_bundle(page, links, full_url_prefix_));
  });
  if (options_.on_access) options_.on_access(req, {"search", type, {}, std::move(persons), served.status});
  return served;
}

http::Response FhirReadApi::read(const http::Request& req, std::string_view type,
                                 std::string_view id) {
  if (!is_supported_type(type))
    return fhir_error(404, "not-supported", "resource type is not supported");
  if (!is_valid_id(id)) return fhir_error(400, "invalid", "the id is not a valid FHIR id");
  ParsedQuery query;
  if (auto error = parse_query(req, {}, options_, query)) return *error;

  std::vector<std::string> persons;
  http::Response served = guarded("read", [&]() -> http::Response {
    auto resource = store_.read(type, id);
    if (!resource && store_.was_deleted(type, id))
      return fhir_error(410, "deleted",
                        std::string(type) + "/" + std::string(id) +
                            " was removed: a later version of its source document replaced it");
    if (!resource)
      return fhir_error(404, "not-found",
                        std::string(type) + "/" + std::string(id) + " is not known");
    persons.push_back(resource->person_id);
    const std::string etag = "W/\"" + std::to_string(resource->version) + "\"";
    if (const std::string* if_none_match = req.header("if-none-match");
        if_none_match != nullptr && *if_none_match == etag) {
      http::Response not_modified = detail::fhir_response(304, std::string());
      not_modified.headers.emplace_back("ETag", etag);
      return not_modified;
    }
    http::Response res = detail::fhir_response(200, std::move(resource->json));
    res.headers.emplace_back("ETag", etag);
    const std::string last_modified = detail::http_date_from_instant(resource->last_updated);
    if (!last_modified.empty()) res.headers.emplace_back("Last-Modified", last_modified);
    return res;
  });
  if (options_.on_access) options_.on_access(req, {"read", type, id, std::move(persons), served.status});
  return served;
}

namespace {

// $everything?_dedup=true: the whole person's set read in one snapshot, each same-fact group
// presented once (duplicate_facts.h), then paged, so totals and links count presented entries.
store::SearchPage everything_presented_once(store::PhrStore& store, std::string_view person,
                                            int64_t offset, int64_t count) {
  auto all = store.everything(person, 0, std::numeric_limits<int64_t>::max());
  auto presented = present_same_facts_once(std::move(all.resources));
  store::SearchPage page;
  page.total = static_cast<int64_t>(presented.size());
  const int64_t begin = std::min(std::max<int64_t>(offset, 0), page.total);
  const int64_t end = begin + std::clamp<int64_t>(count, 0, page.total - begin);
  presented.erase(presented.begin() + end, presented.end());
  presented.erase(presented.begin(), presented.begin() + begin);
  page.resources = std::move(presented);
  return page;
}

}  // namespace

http::Response FhirReadApi::everything(const http::Request& req, std::string_view patient_id) {
  if (!is_valid_id(patient_id)) return fhir_error(400, "invalid", "the id is not a valid FHIR id");
  ParsedQuery query;
  if (auto error = parse_query(req, {"_dedup"}, options_, query)) return *error;
  bool dedup = false;
  if (const std::string* value = search_value(query, "_dedup")) {
    if (*value != "true" && *value != "false")
      return fhir_error(400, "invalid", "parameter '_dedup' must be true or false");
    dedup = *value == "true";
  }

  std::vector<std::string> persons;
  http::Response served = guarded("everything", [&]() -> http::Response {
    auto patient = store_.read("Patient", patient_id);
    if (!patient)
      return fhir_error(404, "not-found", "Patient/" + std::string(patient_id) + " is not known");
    // The person is the Patient's owner: for a linked (secondary) Patient record this is the
    // person's main Patient, so $everything covers the whole person either way.
    persons.push_back(patient->person_id);
    auto page = dedup ? everything_presented_once(store_, patient->person_id, query.offset,
                                                  query.count)
                      : store_.everything(patient->person_id, query.offset, query.count);
    auto links = page_links(link_base_, "/Patient/" + std::string(patient_id) + "/$everything",
                            query, page.total);
    return detail::fhir_response(200, detail::searchset_bundle(page, links, full_url_prefix_));
  });
  if (options_.on_access) options_.on_access(req, {"everything", "Patient", patient_id, std::move(persons), served.status});
  return served;
}

}  // namespace phrgate::admin
