// Source type "hl7v2_mllp": HL7 v2 messages over MLLP (plain or TLS). Built by the registry.
// For every frame: parse, decide AA / AE / AR, commit the original bytes to the durable inbox
// (rejected messages too, with their error), and only then answer: an original-mode ACK, an
// enhanced-mode accept ACK (CA/CE/CR, as MSH-15 asks), one ACK for an FHS/BHS batch, or the
// MLLP release 2 commit block. A failed commit is never acknowledged as stored (no ACK and the
// connection closed, or CR / NAK): an acknowledged message is never lost. See README.md.
#pragma once

#include <memory>

#include "gateway/core/config.h"
#include "gateway/pipeline/source.h"

namespace phrgate::hl7v2 {

std::unique_ptr<pipeline::Source> make_hl7v2_mllp_source(const config::AdapterConfig& config,
                                                         pipeline::SourceDeps& deps);

}  // namespace phrgate::hl7v2
