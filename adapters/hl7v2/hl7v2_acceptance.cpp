// Implementation of the shared acceptance rules (see hl7v2_acceptance.h).
#include "adapters/hl7v2/hl7v2_acceptance.h"

#include "adapters/hl7v2/hl7v2_to_fhir.h"

namespace phrgate::hl7v2 {

Acceptance check_acceptance(const Message& msg, std::string_view accepted_processing_ids) {
  const auto& h = msg.header();
  if (h.version.size() < 3 || h.version[0] != '2' || h.version[1] != '.')
    return {AckCode::AR, ErrorCode::UnsupportedVersionId, "unsupported HL7 version in MSH-12", "MSH^1^12"};
  if (!accepted_processing_ids.empty()) {
    std::string_view pid = h.processing_id.empty() ? std::string_view("P") : h.processing_id.substr(0, 1);
    if (accepted_processing_ids.find(pid) == std::string_view::npos)
      return {AckCode::AR, ErrorCode::UnsupportedProcessingId,
              "processing id in MSH-11 not accepted by this source", "MSH^1^11"};
  }
  if (!is_supported(h)) {
    const bool known_code = is_known_message_code(h.message_code);
    return {AckCode::AR, known_code ? ErrorCode::UnsupportedEventCode : ErrorCode::UnsupportedMessageType,
            known_code ? "unsupported trigger event in MSH-9" : "unsupported message type in MSH-9", "MSH^1^9"};
  }
  const Segment* pid_seg = msg.find("PID");
  if (!pid_seg) return {AckCode::AE, ErrorCode::SegmentSequence, "required segment PID is missing", "PID"};
  if (pid_seg->field(3).empty())
    return {AckCode::AE, ErrorCode::RequiredFieldMissing, "PID-3 (patient identifier list) is empty", "PID^1^3"};
  // The segments each supported type requires (ORU: OBR and OBX; VXU: RXA; ORM/OML: OBR;
  // ADT^A40: MRG; ADT^A60: IAM; MDM^T02: TXA; PPR^PC1: PRB), from the converter's own list.
  if (const std::string_view missing = missing_segment(msg); !missing.empty())
    return {AckCode::AE, ErrorCode::SegmentSequence,
            "required segment " + std::string(missing) + " is missing for this message type", std::string(missing)};
  return {};
}

void fill_row_header(const MessageHeader& h, queue::InboxMessage& row) {
  row.sender.assign(h.sending_application);
  row.sender.push_back('|');
  row.sender.append(h.sending_facility);
  row.control_id.assign(h.control_id);
  row.message_type.assign(h.message_code);
  if (!h.trigger_event.empty()) {
    row.message_type.push_back('^');
    row.message_type.append(h.trigger_event);
  }
}

}  // namespace phrgate::hl7v2
