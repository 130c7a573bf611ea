// HL7 v2 -> FHIR R4 converter for ADT (A01-A08, A11-A13, A17, A28, A31, A40, A60), ORU^R01,
// VXU^V04, ORM^O01, OML^O21, MDM^T02, PPR^PC1, RDE^O11 and RAS^O17 (list: is_supported), per the
// HL7 v2-to-FHIR IG (message, segment, datatype and concept maps). Called by the pipeline
// for every committed HL7 v2 message; pure (no I/O, no logging, no clock except the
// Provenance.recorded fallback). Never puts message content (PHI) in error texts.
//
// Resource ids (gateway/core/resource_id.h, SHA-256 of the parts) are functions of the
// source's identifiers, so re-sending or correcting a message hits the same ids:
//   sender      = MSH-4.1, else MSH-4.2, else MSH-3.1, else ConvertOptions::source_name.
//   Patient     = ("Patient", Identifier.system, Identifier.value) of the first PID-3
//                 repetition whose CX-5 is MR (else the first repetition with a value);
//                 person_id = that id. Identifier.system: see "Identifier systems" below.
//   Encounter   = ("Encounter", system, value) of PV1-19 (visit number; its system falls
//                 back to the sender like every CX), else ("Encounter", "admit", Patient id,
//                 PV1-44), else ("Encounter", "msh-10", sender, MSH-10).
//   DiagnosticReport = ("DiagnosticReport", sender, kind, system, value) of the order number:
//                 kind "filler" = OBR-3 (else ORC-3), else "placer" = OBR-2 (else ORC-2);
//                 without any (or when an earlier OBR of the message had the same number):
//                 ("DiagnosticReport", sender, "msh-10", MSH-10, OBR ordinal).
//   Observation = ("Observation", sender, kind, system, value, OBX-3.1, OBX-3.3, OBX-4, n) with
//                 the enclosing OBR's order number and n = how many earlier OBX of that order
//                 had the same OBX-3/OBX-4; without an order number (ADT OBX, or an ORU order
//                 without numbers): ("Observation", sender, "msh-10", MSH-10, OBX ordinal).
//   AllergyIntolerance = ("AllergyIntolerance", sender, Patient id, AL1-3.3, AL1-3.1 (else
//                 AL1-3.2)): one per allergen and patient, whatever message reports it.
//   Condition   = ("Condition", sender, Patient id, Encounter id ("" without PV1),
//                 DG1-3.3 "|" DG1-3.1 (else DG1-3.2, else DG1-4)): one per diagnosis and visit.
//   Procedure   = ("Procedure", sender, Patient id, PR1-3.3 "|" PR1-3.1 (else PR1-3.2, else
//                 PR1-4), PR1-5): one per procedure and time performed.
//   RelatedPerson = ("RelatedPerson", sender, Patient id, NK1-2.1.1 "|" NK1-2.2, NK1-3.1)
//                 (NK1-1 set ids are renumbered between messages, so not used).
//   Immunization = ("Immunization", sender, Patient id, RXA-5.3, RXA-5.1 (else RXA-5.2),
//                 RXA-3): one per vaccine and administration time.
//   ServiceRequest = ("ServiceRequest", sender, "filler", system, value) of OBR-3 (else
//                 ORC-3), else ("ServiceRequest", sender, "placer", system, value) of OBR-2
//                 (else ORC-2); without any (or a number repeated in the message):
//                 ("ServiceRequest", sender, "msh-10", MSH-10, OBR ordinal).
//   AllergyIntolerance from IAM (ADT^A60): the AL1 rule above, so both update one resource.
//   Condition from PRB (PPR^PC1) = ("Condition", sender, "prb-4", system, value) of PRB-4,
//                 else ("Condition", sender, Patient id, "problem", PRB-3.3 "|" PRB-3.1).
//   Coverage    = ("Coverage", sender, Patient id, IN1-3.1 (else IN1-4 name), IN1-2.1,
//                 IN1-36 (else IN1-49.1), IN1-8).
//   DocumentReference = OBX ED/RP: ("DocumentReference", <its Observation id>); MDM^T02:
//                 ("DocumentReference", sender, "txa-12", system, value) of TXA-12, else
//                 ("DocumentReference", sender, "msh-10", MSH-10).
//   MedicationRequest (RDE^O11) = the ServiceRequest rule on ORC-3/ORC-2 ("MedicationRequest").
//   MedicationAdministration (RAS^O17) = ("MedicationAdministration", sender, Patient id,
//                 RXA-5.3, RXA-5.1 (else RXA-5.2), RXA-3).
//   ADT^A17/A40 carry one PID group per patient: each group's resources use its own Patient
//   (and person_id); result.person_id is the first. A40's prior Patient (MRG-1) keeps its
//   own id and person_id.
//   A second segment of one message with the same id is skipped (written once).
//   Provenance  = ("Provenance", sender, MSH-10).
//
// Identifier systems (CX and EI): assigning authority with universal id type ISO and a valid
// OID -> "urn:oid:<id>"; type UUID -> "urn:uuid:<id>"; else the namespace id (CX-4.1 / EI-2,
// or the universal id) looked up in the code maps under source_system "assigning-authority"
// (mappings/identifiers/assigning_authorities.csv); else "urn:phrgate:assigner:<namespace>"
// (percent-encoded); a CX without any assigning authority gets the sender as its namespace.
// The full list of mapping choices is in adapters/hl7v2/CONVERSION.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/store/phr_store.h"

namespace phrgate::hl7v2 {

struct ConvertOptions {
  std::string_view source_name;        // configured source; code map scope; last-resort sender
  std::string_view default_zone = "Z";  // zone for timestamps sent without one ("+01:00")
  // This sender's assigning authority namespace -> Identifier.system pairs (config "senders"),
  // consulted before the assigning-authority table; null: none.
  const std::vector<std::pair<std::string, std::string>>* authority_systems = nullptr;
  const mapping::CodeMaps* code_maps = nullptr;  // null: every coded value counts as unmapped
  bool uuid_references = false;  // "urn:uuid:<id>" instead of "Patient/<id>" (transactions)
  // Told about each coded value the tables could not map (null: nobody listens, and the
  // converter does no extra work). Reported, as (table source_system, code, display):
  //  - OBX-3, OBR-4, coded OBX-5 whose CWE-1 is in a local system (a CWE-3 that is neither
  //    HL7nnnn nor in HL70396, or empty -> "L"), with no translation row and no coding in a
  //    known system among the other triplets;
  //  - concept-map CWEs (OBX-8 via HL70078, PID-16 via HL70002) whose code has no row;
  //  - OBX-6 units not sent as UCUM and not in the "unit" table (display = CWE-2);
  //  - assigning authorities sent (CX-4 / EI-2..4) without an OID/UUID/URI and without an
  //    "assigning-authority" row; identifier types (CX-5) not in HL70203.
  // Each (system, code) is reported at most once per message. The value passes through
  // unchanged either way (original coding / text kept).
  mapping::UnmappedCodeSink* unmapped = nullptr;
};

struct ConvertResult {
  bool ok = false;
  ErrorCode error_code = ErrorCode::ApplicationInternalError;  // when !ok
  std::string error;           // operator-readable, no PHI
  std::string error_location;  // e.g. "PID-3"
  std::string person_id;       // id of the Patient resource
  // Per PID group: Patient (ADT^A40: then the prior Patient), the Encounter, each order's
  // Observations (an ED/RP OBX: its DocumentReference just before it) followed by its
  // DiagnosticReport (ORU only), then (not ORU) RelatedPerson, AllergyIntolerance,
  // Condition, Procedure, Coverage and Immunization in segment order. Then (ORM/OML) the
  // ServiceRequests, (MDM) the DocumentReference, Provenance last (targets all the others).
  std::vector<store::FhirResource> resources;
  std::string mapping_version;  // CodeMaps::version() used, "" without code maps
};

// MSH-9.1/9.2 among the supported types: ADT^A01/A02/A03/A04/A05/A06/A07/A08/A11/A12/A13/
// A17/A28/A31/A40/A60, ORU^R01, VXU^V04, ORM^O01, OML^O21, MDM^T02, PPR^PC1, RDE^O11, RAS^O17.
bool is_supported(const MessageHeader& h);
// True when some trigger event of this message type (MSH-9.1) is supported.
bool is_known_message_code(std::string_view code);
// The first segment a supported message type requires that `msg` lacks (e.g. "OBR" for an
// ORU^R01 without one, "MRG" for ADT^A40); "" when none is missing or the type is unsupported.
std::string_view missing_segment(const Message& msg);

ConvertResult convert_to_fhir(const Message& msg, const ConvertOptions& opt);

}  // namespace phrgate::hl7v2
