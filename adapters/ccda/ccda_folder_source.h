// Source type "ccda_folder": C-CDA documents dropped into a watched folder, one per file.
// Each file is judged like POST /ingest/ccda judges a body (judge_ccda_document) and committed
// to the durable inbox as one row; only then does it move to processed/, or, when the
// document is bad, to failed/ with a <name>.error.txt sidecar (the row kept as Rejected).
// When the commit fails the file stays in place and is read again. Never logs file content.
#pragma once

#include <memory>

#include "adapters/common/folder/folder_watcher.h"
#include "gateway/core/config.h"
#include "gateway/pipeline/registry.h"
#include "gateway/pipeline/source.h"

namespace phrgate::ccda {

// `hooks` are for tests (a fake clock, a "crash" before the move); the daemon passes none.
std::unique_ptr<pipeline::Source> make_ccda_folder_source(const config::AdapterConfig& config,
                                                          pipeline::SourceDeps& deps,
                                                          const folder::FolderWatcherHooks& hooks = {});

// Registers source type "ccda_folder" (called from gateway/daemon/builtin_adapters.cpp).
void register_ccda_folder_source(pipeline::Registry& registry);

}  // namespace phrgate::ccda
