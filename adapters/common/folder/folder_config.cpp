// Implementation of folder_options_from_config (see folder_config.h).
#include "adapters/common/folder/folder_config.h"

#include "gateway/core/config.h"

namespace phrgate::folder {

FolderWatcherOptions folder_options_from_config(const rapidjson::Value& o, std::string log_name) {
  FolderWatcherOptions fo;
  fo.inbox_dir = config::get_string(o, "path", "");
  fo.processed_dir = config::get_string(o, "processed_dir", "");
  fo.failed_dir = config::get_string(o, "failed_dir", "");
  fo.poll_interval = std::chrono::milliseconds(config::get_int(o, "poll_interval_ms", 1000));
  fo.min_file_age = std::chrono::milliseconds(config::get_int(o, "min_file_age_ms", 1000));
  fo.max_file_bytes = static_cast<std::uint64_t>(config::get_int(o, "max_file_bytes", int64_t{64} << 20));
  if (auto it = o.FindMember("ignore_patterns"); it != o.MemberEnd() && it->value.IsArray()) {
    fo.ignore_patterns.clear();
    for (const auto& v : it->value.GetArray())
      if (v.IsString()) fo.ignore_patterns.emplace_back(v.GetString());
  }
  if (auto it = o.FindMember("keep_processed"); it != o.MemberEnd() && it->value.IsBool())
    fo.keep_processed = it->value.GetBool();
  fo.log_name = std::move(log_name);
  return fo;
}

}  // namespace phrgate::folder
