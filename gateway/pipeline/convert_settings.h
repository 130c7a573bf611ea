// Reads a source's conversion settings (ConvertSettings in source.h) from its config object:
// "default_timezone", "default_charset" and the per-sender "senders" list. Shared by every
// source type, so the same keys mean the same thing everywhere. The config schema has
// already checked types and patterns; this only copies values.
#pragma once

#include <rapidjson/document.h>

#include "gateway/pipeline/source.h"

namespace phrgate::pipeline {

ConvertSettings read_convert_settings(const rapidjson::Value& source_options);

}  // namespace phrgate::pipeline
