// Converter: turns one stored inbox row (raw HL7 v2, C-CDA, FHIR...) into FHIR R4 resources
// for one person. Registered per content type ("application/hl7-v2") in the registry; the
// pipeline picks the converter by the row's content type, so a message converts the same way
// whichever source received it, and `phrgate convert` uses the same converters offline.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pipeline/source.h"
#include "gateway/store/phr_store.h"

namespace phrgate::mapping {
class CodeMaps;
class UnmappedCodeSink;
}

namespace phrgate::pipeline {

struct ConvertInput {
  std::string_view payload;
  std::string_view source;
  ConvertSettings settings;
  const mapping::CodeMaps* code_maps = nullptr;
  // Told about coded values the tables could not map (null: not counted). See unmapped_codes.h.
  mapping::UnmappedCodeSink* unmapped = nullptr;
  bool uuid_references = false;  // true for standalone transaction Bundles (convert CLI)
};

// One source document may hold several messages (an HL7 batch file): one result each.
struct ConvertedMessage {
  bool ok = false;
  std::string error;           // operator-readable, no PHI
  std::string control_id;      // message control id or document id, for logs
  std::string person_id;
  std::vector<store::FhirResource> resources;
  // A document that replaces earlier versions of itself (C-CDA setId + versionNumber): the
  // store drops what earlier versions of `document_set` contributed and this one no longer
  // holds, and ignores a version older than the one it already has. Empty: a plain message.
  std::string document_set;
  int64_t document_version = 0;
};

using ConvertFn = std::function<std::vector<ConvertedMessage>(const ConvertInput&)>;

}  // namespace phrgate::pipeline
