// Source: one input adapter (an MLLP listener, a watched folder, a FHIR poller...).
// A source turns what it receives into queue::InboxMessage rows, submits them to the
// durable inbox and acknowledges its peer only once the inbox reports them committed.
// The daemon knows sources only through this interface and the registry (registry.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
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

// What the pipeline needs to know to convert a source's messages later.
struct ConvertSettings {
  std::string default_zone = "Z";  // for timestamps without a zone
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
