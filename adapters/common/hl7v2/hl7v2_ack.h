// Builds HL7 v2 acknowledgements (original mode: MSA-1 AA / AE / AR) for a received message.
// The ACK swaps sender and receiver, echoes MSH-10 in MSA-2, answers in the sender's
// version, and carries an ERR segment (HL7 table 0357 code and operator text) on AE/AR.
// Never puts message content (PHI) into the ACK beyond the control id.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace phrgate::hl7v2
