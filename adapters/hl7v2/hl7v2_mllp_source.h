// Source type "hl7v2_mllp": HL7 v2 messages over MLLP (plain or TLS).
// For every frame: parse the header, decide AA / AE / AR, commit the original bytes to the
// durable inbox (rejected messages too, with their error, for an operator), and only then
// send the acknowledgement. If the commit fails, no ACK is sent and the connection is
// closed, so the sender resends: an acknowledged message is never lost.
#pragma once

#include <memory>

#include "gateway/core/config.h"
#include "gateway/pipeline/source.h"

namespace phrgate::hl7v2 {

std::unique_ptr<pipeline::Source> make_hl7v2_mllp_source(const config::AdapterConfig& config,
                                                         pipeline::SourceDeps& deps);

}  // namespace phrgate::hl7v2
