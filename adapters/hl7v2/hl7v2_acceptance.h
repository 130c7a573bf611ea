// Whether phrgate accepts an HL7 v2 message, decided the same way by every HL7 v2 source
// (MLLP, folder): the acknowledgement it earns (AA, or AE/AR with a table 0357 error and
// an operator-readable reason without PHI), and the inbox row's header columns.
#pragma once

#include <string>
#include <string_view>

#include "adapters/common/hl7v2/hl7v2_ack.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "gateway/queue/inbox.h"

namespace phrgate::hl7v2 {

struct Acceptance {
  AckCode code = AckCode::AA;
  ErrorCode error = ErrorCode::ApplicationInternalError;
  std::string text;      // why not accepted; empty when accepted
  std::string location;  // ERR-2 location, e.g. "MSH^1^12"
  bool accepted() const { return code == AckCode::AA; }
};

// `accepted_processing_ids`: the MSH-11 values a source takes (e.g. "PTD"); empty: any.
Acceptance check_acceptance(const Message& msg, std::string_view accepted_processing_ids = {});

// Sets the row's sender (MSH-3|MSH-4), control id (MSH-10) and message type (MSH-9.1^9.2).
void fill_row_header(const MessageHeader& header, queue::InboxMessage& row);

}  // namespace phrgate::hl7v2
