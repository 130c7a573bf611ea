// Registers the HL7 v2 adapter with the daemon: source type "hl7v2_mllp" and the converter
// for content type "application/hl7-v2" (also used by `phrgate convert`).
#pragma once

#include "gateway/pipeline/registry.h"

namespace phrgate::hl7v2 {

void register_hl7v2(pipeline::Registry& registry);

// Splits a file or payload holding one or more HL7 v2 messages (optionally wrapped in
// FHS/BHS/BTS/FTS batch segments) into the text of each message. Zero-copy.
std::vector<std::string_view> split_messages(std::string_view text);

// Converts every message in `payload` (see pipeline::ConvertFn).
std::vector<pipeline::ConvertedMessage> convert_hl7v2_payload(const pipeline::ConvertInput& in);

}  // namespace phrgate::hl7v2
