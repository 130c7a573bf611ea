// Internal to phrgate_fhir_api: the JSON documents the FHIR read API answers with
// (OperationOutcome, searchset Bundle, CapabilityStatement) and small HTTP text helpers.
// Built with RapidJSON's Writer; stored resources are embedded as raw JSON, never re-parsed.
// Diagnostics passed in must already be free of PHI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_types.h"
#include "gateway/store/phr_store.h"

namespace phrgate::admin::detail {

// The served types other than Patient: each belongs to a person, searched by patient=.
bool is_person_owned_type(std::string_view type);

// A FHIR response with Content-Type application/fhir+json.
http::Response fhir_response(int status, std::string body);

// An OperationOutcome with one error issue; `code` is a FHIR issue-type code ("invalid",
// "not-found", "not-supported", "required", "exception", ...).
http::Response fhir_error(int status, std::string_view code, std::string_view diagnostics);

struct BundleLink {
  std::string relation;  // "self", "next", "previous"
  std::string url;
};

// A searchset Bundle of `page`; entry fullUrls are "<full_url_prefix><type>/<id>".
std::string searchset_bundle(const store::SearchPage& page, const std::vector<BundleLink>& links,
                             std::string_view full_url_prefix);

// The server's CapabilityStatement; `date` is a FHIR dateTime.
std::string capability_statement(const FhirReadApiOptions& options, std::string_view date);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values in links).
void append_percent_encoded(std::string& out, std::string_view text);

// "2024-05-01T12:34:56.789Z" -> "Wed, 01 May 2024 12:34:56 GMT"; empty if not an instant.
std::string http_date_from_instant(std::string_view instant);

}  // namespace phrgate::admin::detail
