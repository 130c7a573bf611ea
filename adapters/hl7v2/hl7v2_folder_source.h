// Source type "hl7v2_folder": HL7 v2 files dropped into a watched folder by an EMR.
// Each file (one message, many, or an FHS/BHS batch) is split into messages, each judged like
// the MLLP source judges (bad ones are kept in the inbox as rejected, with their error) and
// committed to the durable inbox; only when every message of the file is committed does the
// file move to processed/ (or to failed/ with a sidecar listing the rejected messages, never
// their content). If a commit fails the file stays where it is and is read again later.
#pragma once

#include <memory>

#include "adapters/common/folder/folder_watcher.h"
#include "gateway/core/config.h"
#include "gateway/pipeline/source.h"

namespace phrgate::hl7v2 {

// `hooks` are for tests (a fake clock, a "crash" before the move); the daemon passes none.
std::unique_ptr<pipeline::Source> make_hl7v2_folder_source(const config::AdapterConfig& config,
                                                           pipeline::SourceDeps& deps,
                                                           const folder::FolderWatcherHooks& hooks = {});

}  // namespace phrgate::hl7v2
