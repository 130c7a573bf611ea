// Implementation of read_convert_settings (see convert_settings.h).
#include "gateway/pipeline/convert_settings.h"

#include "gateway/core/config.h"

namespace phrgate::pipeline {

ConvertSettings read_convert_settings(const rapidjson::Value& o) {
  ConvertSettings s;
  s.default_zone = config::get_string(o, "default_timezone", "Z");
  s.default_charset = config::get_string(o, "default_charset", "");
  auto senders = o.FindMember("senders");
  if (senders == o.MemberEnd() || !senders->value.IsArray()) return s;
  for (const auto& v : senders->value.GetArray()) {
    if (!v.IsObject()) continue;
    SenderSettings one;
    one.application = config::get_string(v, "sending_application", "");
    one.facility = config::get_string(v, "sending_facility", "");
    one.default_zone = config::get_string(v, "default_timezone", "");
    one.default_charset = config::get_string(v, "default_charset", "");
    if (auto ids = v.FindMember("identifier_systems"); ids != v.MemberEnd() && ids->value.IsObject())
      for (const auto& m : ids->value.GetObject())
        if (m.value.IsString()) one.identifier_systems.emplace_back(m.name.GetString(), m.value.GetString());
    s.senders.push_back(std::move(one));
  }
  return s;
}

}  // namespace phrgate::pipeline
