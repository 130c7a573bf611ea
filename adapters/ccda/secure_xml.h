// Secure XML parsing for C-CDA documents (libxml2): size cap before parsing, no network, no
// DTD, no entities (any DOCTYPE is refused, so XXE and billion-laughs never start), a depth
// limit, errors collected per parse (never printed to stderr). Used by the C-CDA converter
// and by intake (check_ccda_document) before a document is committed. Error texts carry
// line numbers and libxml2's message, never document content.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace phrgate::ccda {

inline constexpr std::string_view kHl7V3Ns = "urn:hl7-org:v3";
inline constexpr std::string_view kSdtcNs = "urn:hl7-org:sdtc";
inline constexpr std::string_view kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";

struct XmlLimits {
  std::size_t max_bytes = 20u * 1024 * 1024;
  int max_depth = 200;  // element nesting
};

struct XmlDocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Parses `xml` under `limits`. Null with `error` set (operator-readable, no PHI) when the
// input is over the size cap, not well-formed, has a DOCTYPE, or nests too deep.
XmlDocPtr parse_secure_xml(std::string_view xml, const XmlLimits& limits, std::string& error);

struct CcdaCheckOptions {
  std::size_t max_bytes = 20u * 1024 * 1024;
  int max_depth = 200;
  // CDA R2 XSD (CDA_SDTC.xsd or CDA.xsd) to validate against; empty: no schema validation.
  // Compiled once per path and cached; imports are read from local files only.
  std::string schema_path;
};

// Intake's check before committing: secure parse, root {urn:hl7-org:v3}ClinicalDocument,
// and (with schema_path) XSD validation. nullopt: fine; else why not (no PHI).
std::optional<std::string> check_ccda_document(std::string_view xml, const CcdaCheckOptions& options);

// The root check alone, on an already parsed document: "" when the root is
// {urn:hl7-org:v3}ClinicalDocument, else the error text.
std::string check_ccda_root(const xmlDoc* doc);

}  // namespace phrgate::ccda
