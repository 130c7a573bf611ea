// Lookups in the adapter registry (see registry.h).
#include "gateway/pipeline/registry.h"

namespace phrgate::pipeline {

const SourceFactory* Registry::source(std::string_view type) const {
  for (const auto& f : sources_)
    if (f.type == type) return &f;
  return nullptr;
}

const SinkFactory* Registry::sink(std::string_view type) const {
  for (const auto& f : sinks_)
    if (f.type == type) return &f;
  return nullptr;
}

const ConverterEntry* Registry::converter(std::string_view content_type) const {
  for (const auto& c : converters_)
    if (c.content_type == content_type) return &c;
  return nullptr;
}

const ConverterEntry* Registry::sniff(std::string_view head) const {
  for (const auto& c : converters_)
    if (c.sniff && c.sniff(head)) return &c;
  return nullptr;
}

}  // namespace phrgate::pipeline
