// Reads the options every watched-folder source shares (path, processed_dir, failed_dir,
// poll_interval_ms, min_file_age_ms, max_file_bytes, ignore_patterns, keep_processed) from a
// source's config object, so the HL7 v2 and C-CDA folder sources read them the same way.
// The config schema has already checked them; this only copies values.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "adapters/common/folder/folder_watcher.h"

namespace phrgate::folder {

FolderWatcherOptions folder_options_from_config(const rapidjson::Value& source_options, std::string log_name);

}  // namespace phrgate::folder
