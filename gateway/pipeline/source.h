// Source: one input adapter (an MLLP listener, a watched folder, a FHIR poller...).
// A source turns what it receives into queue::InboxMessage rows, submits them to the
// durable inbox and acknowledges its peer only once the inbox reports them committed.
// The daemon knows sources only through this interface and the registry (registry.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace phrgate::metrics {
class Registry;
}
namespace phrgate::queue {
class Inbox;
}

namespace phrgate::pipeline {

// Settings for the messages of one sending system (HL7 MSH-3 / MSH-4 namespace ids), which
// override the source's own: several EMRs often share one listener.
struct SenderSettings {
  std::string application;      // MSH-3.1; empty matches any application
  std::string facility;         // MSH-4.1; empty matches any facility
  std::string default_zone;     // "" keeps the source's
  std::string default_charset;  // HL7 table 0211 name used when MSH-18 is empty; "" keeps the source's
  // Assigning authority namespace (CX-4.1) -> FHIR Identifier.system, before the mapping tables.
  std::vector<std::pair<std::string, std::string>> identifier_systems;
};

// What the pipeline needs to know to convert a source's messages later.
struct ConvertSettings {
  std::string default_zone = "Z";  // for timestamps without a zone
  std::string default_charset;     // when MSH-18 is empty; "" = UTF-8 (lenient: stray bytes as 8859/1)
  std::vector<SenderSettings> senders;
  // The most specific sender entry matching (application, facility), or null.
  const SenderSettings* sender(std::string_view application, std::string_view facility) const {
    const SenderSettings* best = nullptr;
    int best_score = -1;
    for (const auto& s : senders) {
      if (!s.application.empty() && s.application != application) continue;
      if (!s.facility.empty() && s.facility != facility) continue;
      const int score = (s.application.empty() ? 0 : 2) + (s.facility.empty() ? 0 : 1);
      if (score > best_score) { best = &s; best_score = score; }
    }
    return best;
  }
};

// Counters an operator sees in /api/queues, as (name, value) pairs.
struct SourceStatus {
  std::string name;
  std::string type;
  std::vector<std::pair<std::string, int64_t>> counters;
  std::string listening;  // "0.0.0.0:2575", or "" when not a listener
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  // Opens listeners / starts polling. Throws std::runtime_error with an operator-readable
  // message when it cannot (port in use, unreadable certificate).
  virtual void start() = 0;
  // Stops taking new input (closes listeners); in-flight messages still get their ACK.
  virtual void stop_accepting() = 0;
  // Waits (without blocking the io_context) until in-flight work is answered, or the deadline.
  virtual void drain(std::chrono::steady_clock::time_point deadline) = 0;
  virtual SourceStatus status() const = 0;
  virtual ConvertSettings convert_settings() const = 0;
};

// What a source gets from the daemon when it is created.
struct SourceDeps {
  boost::asio::io_context& io;
  queue::Inbox& inbox;
  metrics::Registry& metrics;
  // Called after the inbox committed new rows, to wake the pipeline.
  std::function<void()> notify_pipeline;
  // The daemon's data directory, for a source's own small state files ("" in some tests).
  std::string data_dir;
};

}  // namespace phrgate::pipeline
