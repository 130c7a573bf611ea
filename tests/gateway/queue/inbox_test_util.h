// Helpers for the inbox tests: message builders (and the shared TempDir), and a
// recorder that collects submit callbacks. Test-only; never linked into the daemon.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gateway/queue/inbox.h"
#include "tests/support/temp_dir.h"

namespace phrgate::queue::testing {

using TempDir = phrgate::testing::TempDir;

inline InboxMessage make_message(std::string control_id, std::string sender = "LAB^HOSP_A",
                                 std::string payload = "MSH|^~\\&|LAB|HOSP_A|||") {
  InboxMessage m;
  m.source = "emr-adt";
  m.sender = std::move(sender);
  m.control_id = std::move(control_id);
  m.message_type = "ADT^A01";
  m.content_type = "application/hl7-v2";
  m.payload = std::move(payload);
  return m;
}

// Collects (result, row id) pairs in callback order.
class Recorder {
 public:
  Inbox::SubmitCallback callback() {
    return [this](SubmitResult r, int64_t id) {
      std::lock_guard<std::mutex> lock(mutex_);
      results_.emplace_back(r, id);
    };
  }
  std::vector<std::pair<SubmitResult, int64_t>> results() {
    std::lock_guard<std::mutex> lock(mutex_);
    return results_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<SubmitResult, int64_t>> results_;
};

// Submits one message and waits for its callback.
inline std::pair<SubmitResult, int64_t> submit_and_wait(Inbox& inbox, InboxMessage msg) {
  std::promise<std::pair<SubmitResult, int64_t>> done;
  auto result = done.get_future();
  inbox.submit(std::move(msg), [&done](SubmitResult r, int64_t id) { done.set_value({r, id}); });
  return result.get();
}

}  // namespace phrgate::queue::testing
