// C-CDA (CDA R2: CCD, discharge summary, referral note... C-CDA 1.1/2.1 and C32) -> FHIR R4
// converter: one ConvertedMessage per document (Patient, practitioners, organizations, one
// resource family per known section, the original XML as a DocumentReference and a
// Provenance). Called by the pipeline for content type application/cda+xml and by
// `phrgate convert`. Pure (no I/O, no clock, no logging); error texts never carry PHI.
// Ids are deterministic: entries are keyed by (document set, entry id root/extension) or by
// their content, so a later version of the same set gives unchanged entries the same ids;
// the Patient id is patient_resource_id() of the first patient identifier (as HL7 v2).
#pragma once

#include <string_view>
#include <vector>

#include "adapters/ccda/secure_xml.h"
#include "gateway/pipeline/converter.h"

namespace phrgate::ccda {

struct CcdaConvertStats {
  int sections_converted = 0;
  int sections_unknown = 0;    // no known templateId or LOINC code: skipped
  int sections_narrative = 0;  // no entries: kept in the document (DocumentReference) only
  int entries_converted = 0;
  int entries_skipped = 0;     // not a kind its section converts
  int entries_failed = 0;      // an error while converting: skipped, the document still converts
};

// Converts one document. `stats` (may be null) receives the section and entry counts.
pipeline::ConvertedMessage convert_ccda_document(const pipeline::ConvertInput& in,
                                                 const XmlLimits& limits = {},
                                                 CcdaConvertStats* stats = nullptr);

// pipeline::ConvertFn for application/cda+xml: one result (a payload is one document).
std::vector<pipeline::ConvertedMessage> convert_ccda_payload(const pipeline::ConvertInput& in);

// True when a file's first bytes look like a CDA document: '<' first (after an optional BOM
// and whitespace) and "ClinicalDocument" within the head.
bool looks_like_ccda(std::string_view head);

}  // namespace phrgate::ccda
