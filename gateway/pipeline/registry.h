// Registry: the adapters the daemon can build, keyed by the config's `type` (sources,
// sinks) and by content type (converters). Registration is explicit: each adapter exports
// one register_...() function and builtin_adapters.cpp calls them all from one list.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/config.h"
#include "gateway/pipeline/converter.h"
#include "gateway/pipeline/sink.h"
#include "gateway/pipeline/source.h"

namespace phrgate::pipeline {

struct SinkDeps {
  store::PhrStore& store;
  metrics::Registry& metrics;
  std::string data_dir;  // the daemon's data directory, for a sink's own files ("" in some tests)
};

struct SourceFactory {
  std::string type;
  std::function<std::unique_ptr<Source>(const config::AdapterConfig&, SourceDeps&)> create;
};

struct SinkFactory {
  std::string type;
  std::function<std::unique_ptr<Sink>(const config::AdapterConfig&, SinkDeps&)> create;
};

struct ConverterEntry {
  std::string content_type;  // "application/hl7-v2"
  // True when a file's leading bytes look like this format (used by `phrgate convert`).
  std::function<bool(std::string_view head)> sniff;
  ConvertFn convert;
};

class Registry {
 public:
  void add_source(SourceFactory f) { sources_.push_back(std::move(f)); }
  void add_sink(SinkFactory f) { sinks_.push_back(std::move(f)); }
  void add_converter(ConverterEntry c) { converters_.push_back(std::move(c)); }

  const SourceFactory* source(std::string_view type) const;
  const SinkFactory* sink(std::string_view type) const;
  const ConverterEntry* converter(std::string_view content_type) const;
  const ConverterEntry* sniff(std::string_view head) const;

  const std::vector<SourceFactory>& sources() const { return sources_; }
  const std::vector<SinkFactory>& sinks() const { return sinks_; }

 private:
  std::vector<SourceFactory> sources_;
  std::vector<SinkFactory> sinks_;
  std::vector<ConverterEntry> converters_;
};

// Every adapter compiled into phrgate, registered in one place.
void register_builtin_adapters(Registry& registry);

}  // namespace phrgate::pipeline
