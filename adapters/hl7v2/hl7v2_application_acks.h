// ApplicationAckSender: enhanced-mode application acknowledgements (MSH-16 AL/ER/SU) for one
// hl7v2_mllp source. The accept ACK (CA) answers "stored"; the application ACK answers
// "processed": AA once the pipeline converted and delivered the message, AE when it failed.
// It is a new message sent to the sender's own MLLP listener (configured per source).
// Durability: promise() records the obligation in a small SQLite file before the source sends
// its CA, so an acknowledged message's application ACK survives a crash; an entry is deleted
// only after the sender's system acknowledged the application ACK. Never logs message content.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/common/mllp/mllp_client.h"

namespace phrgate::queue {
class Inbox;
}
namespace phrgate::metrics {
class Registry;
}

namespace phrgate::hl7v2 {

struct ApplicationAckOptions {
  std::string source_name;  // for logs and metric labels
  std::string host;         // the sender's MLLP listener
  uint16_t port = 0;
  std::optional<mllp::MllpClientTlsOptions> tls;
  std::string state_path;   // SQLite file holding the promised acknowledgements
  std::chrono::milliseconds poll_interval{200};    // how often finished rows are looked for
  std::chrono::milliseconds retry_delay{5000};     // after a failed send (doubles, capped)
  std::chrono::milliseconds max_retry_delay{300'000};
  std::chrono::milliseconds reply_timeout{10'000};
};

// MSH-16 (table 0155) for an application acknowledgement: AL always, ER only for errors, SU
// only for success, NE or anything else never.
bool application_ack_wanted(std::string_view condition, bool success);

class ApplicationAckSender {
 public:
  // Opens (creating) the state file; throws std::runtime_error when it cannot.
  ApplicationAckSender(ApplicationAckOptions options, queue::Inbox& inbox, metrics::Registry& metrics);
  ~ApplicationAckSender();  // stops the worker; promised acknowledgements stay in the file
  ApplicationAckSender(const ApplicationAckSender&) = delete;
  ApplicationAckSender& operator=(const ApplicationAckSender&) = delete;

  void start();
  void stop();
  // Records durably that inbox row `inbox_id` wants an application ACK under `condition`
  // (AL, ER or SU), then calls `then(true)` on the worker thread; `then(false)` when the
  // record could not be written (the source must then not accept the message).
  void promise(int64_t inbox_id, std::string condition, std::function<void(bool stored)> then);
  // Promised acknowledgements not yet confirmed by the sender (for status and tests).
  int64_t outstanding() const;
  uint64_t sent() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::hl7v2
