// Builds HL7 v2 acknowledgements (original mode AA/AE/AR, enhanced-mode accept CA/CE/CR, and
// one ACK for a whole batch) for received messages.
// The ACK swaps sender and receiver, echoes MSH-10 in MSA-2, answers in the sender's
// version, and carries an ERR segment (HL7 table 0357 code and operator text) on AE/AR/CE/CR.
// Never puts message content (PHI) into the ACK beyond the control id.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"

namespace phrgate::hl7v2 {

enum class AckCode { AA, AE, AR, CA, CE, CR };
std::string_view to_string(AckCode c);
// HL7 table 0357 description of an error code ("Required field missing"), used as the
// ERR text when the caller gives none.
std::string_view describe(ErrorCode c);

struct AckOptions {
  std::string_view ack_control_id;     // MSH-10 of the ACK itself (caller makes it unique)
  std::string_view timestamp;          // MSH-7 of the ACK, HL7 DTM e.g. "20261124221400+0000"
  std::string_view fallback_version = "2.5.1";  // used when the original has none
};

// ACK for a message that parsed (header known). error_text is required for AE/AR
// (when empty, describe(error) is used). error_location names the offending field as
// "PID-3", "PID-3.1" or an ERL already written with '^' ("PID^1^3"); empty when unknown.
std::string build_ack(const Message& original, AckCode code, const AckOptions& opts,
                      ErrorCode error = ErrorCode::ApplicationInternalError,
                      std::string_view error_text = {}, std::string_view error_location = {});

// NAK for input whose MSH could not be parsed: a generic MSH with the default
// delimiters, MSA-2 holding whatever control id could be salvaged (possibly empty).
std::string build_reject_for_unparseable(std::string_view raw, const ParseError& error,
                                         const AckOptions& opts);

// The same, answering `code` in MSA-1 (AR in original mode, CR for an enhanced-mode sender).
std::string build_reject_for_unparseable(std::string_view raw, const ParseError& error,
                                         const AckOptions& opts, AckCode code);

// MSH-15 and MSH-16 (accept / application acknowledgement types) salvaged from the first
// line of input that may not parse as a whole; empty when absent or unreadable.
struct RequestedAckTypes {
  std::string accept;       // MSH-15
  std::string application;  // MSH-16
};
RequestedAckTypes salvage_ack_types(std::string_view raw);

// One message of a batch that was not accepted, for build_batch_ack().
struct BatchMessageError {
  std::size_t index = 0;   // 1-based position of the message in the batch
  std::string control_id;  // its MSH-10 (may be empty when unparseable)
  ErrorCode error = ErrorCode::ApplicationInternalError;
  std::string text;        // gateway-made reason, no PHI
};

// One ACK answering a whole batch (FHS/BHS, messages, BTS/FTS). `batch_header` is the BHS
// segment text (or the FHS when there is no BHS). Routing fields come swapped from it,
// MSA-2 is its field 11 (batch control id), MSH-11/12 are `processing_id`/`version` (from
// the batch's first message; fallbacks when empty). One ERR per failed message, its text
// naming the message by position and MSH-10, its location "MSH^<position>".
std::string build_batch_ack(std::string_view batch_header, AckCode code,
                            const std::vector<BatchMessageError>& errors, const AckOptions& opts,
                            std::string_view version, std::string_view processing_id);

}  // namespace phrgate::hl7v2
