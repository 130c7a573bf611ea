// FhirReadApi: the patient-facing FHIR R4 read API over the embedded PHR store (metadata,
// read, search, Patient/$everything), as plain handlers over http_types.h; the daemon routes
// GET /fhir/... to them. Handlers never include Beast/Asio, never re-parse stored resources,
// and never put PHI in diagnostics (only the requested id is ever echoed).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/http_types.h"
#include "gateway/store/phr_store.h"

namespace phrgate::admin {

// What a read, search or $everything served, for the audit trail (FhirReadApiOptions::on_access).
struct FhirAccess {
  std::string_view interaction;    // "read" | "search" | "everything"
  std::string_view resource_type;  // "Patient", "Observation", ...
  std::string_view resource_id;    // read and $everything; empty for a search
  std::vector<std::string> person_ids;  // the persons whose records were served (may be empty)
  int status = 0;                  // the HTTP status answered
};
using FhirAccessHook = std::function<void(const http::Request&, const FhirAccess&)>;

struct FhirReadApiOptions {
  // Absolute base of the FHIR endpoint as clients see it, e.g. "https://phr.example.org/fhir"
  // (no trailing '/'). Empty: fullUrls are "Type/id" and links are "/fhir/...".
  std::string base_url_hint;
  std::string software_version;
  int default_page_size = 50;
  int max_page_size = 1000;
  // Called after every read, search and $everything that reached the store (not for requests
  // refused as malformed); must be cheap (the audit trail only queues).
  FhirAccessHook on_access;
};

inline constexpr std::string_view kFhirJsonContentType = "application/fhir+json; charset=utf-8";

class FhirReadApi {
 public:
  FhirReadApi(store::PhrStore& store, FhirReadApiOptions options);

  // GET /fhir/metadata: the CapabilityStatement.
  http::Response metadata(const http::Request& req);
  // GET /fhir/{type}?...: Patient by identifier=[system|]value; other types by patient=.
  http::Response search(const http::Request& req, std::string_view type);
  // GET /fhir/{type}/{id}
  http::Response read(const http::Request& req, std::string_view type, std::string_view id);
  // GET /fhir/Patient/{id}/$everything[?_count=&_offset=&_dedup=true|false]
  // _dedup (default false: the stored resources exactly as read) = true presents each clinical
  // fact recorded more than once (same AllergyIntolerance / Immunization / Observation code,
  // value and time; rules in duplicate_facts.h) once: the earliest-stored record, with one
  // extension {url: kSameFactExtensionUrl, valueReference: {reference: "Type/id"}} per other
  // record, which is left out of the bundle; every Provenance stays, so each source remains
  // visible. total and the paging links count the presented entries (links keep _dedup).
  // Cost: each _dedup page reads the person's whole record set in one snapshot and parses its
  // allergies, immunizations and observations (linear in the person's resources; comparisons
  // stay within one minute / one day of each other), then pages the result: about 50 ms per
  // page for a person with 10,000 observations (2026-11-25, RelWithDebInfo), against 0.3 ms.
  http::Response everything(const http::Request& req, std::string_view patient_id);

  // The resource types this API serves (Patient and the person-owned types).
  static bool is_supported_type(std::string_view type);
  // FHIR id syntax: [A-Za-z0-9\-\.]{1,64}.
  static bool is_valid_id(std::string_view id);

 private:
  store::PhrStore& store_;
  FhirReadApiOptions options_;
  std::string link_base_;        // "/fhir" or the base URL: prefix of Bundle links
  std::string full_url_prefix_;  // "" or "<base>/": prefix of entry fullUrls
  std::string capability_json_;  // built once
};

}  // namespace phrgate::admin
