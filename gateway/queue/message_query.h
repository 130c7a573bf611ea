// The inbox's vocabulary for operators: row statuses, delivery attempts, the message
// browser's filter and pages (keyset paging, newest first), and retention's prune request.
// Included through inbox.h; used by the message routes (gateway/daemon/message_routes.cpp),
// the pipeline (delivery attempts) and retention. Plain data: no SQL and no I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::queue {

// Stored as integers; never renumber. Discarded: an operator gave up on a Failed or
// Rejected row (kept until retention deletes it; never a dead letter again).
enum class InboxStatus { Pending = 0, Done = 1, Failed = 2, Rejected = 3, Discarded = 4 };

// "pending", "done", "failed", "rejected", "discarded".
std::string_view status_name(InboxStatus status);
// The inverse of status_name(); nullopt for anything else.
std::optional<InboxStatus> parse_status(std::string_view name);

enum class DeliveryVerdict { Delivered = 0, Retry = 1, Reject = 2 };
std::string_view verdict_name(DeliveryVerdict verdict);  // "delivered", "retry", "reject"

// One sink's verdict on one row's delivery.
struct DeliveryAttempt {
  int64_t inbox_id = 0;
  std::string sink;
  int64_t at_ms = 0;
  DeliveryVerdict outcome = DeliveryVerdict::Delivered;
  std::string error;  // operator-readable, no PHI
};

// Every field is optional (empty / nullopt: no constraint); all given ones must match.
struct MessageFilter {
  std::string control_id;
  std::string sender;
  std::string message_type;
  std::string source;
  std::vector<InboxStatus> statuses;  // any of these
  std::optional<int64_t> since_ms;    // received_at_ms >= since
  std::optional<int64_t> until_ms;    // received_at_ms < until
  // A patient identifier the converted message carried: value, optionally with its system.
  std::string patient_value;
  std::optional<std::string> patient_system;
  // Keyset cursor: rows strictly older than (received_at_ms, id) = after.
  std::optional<int64_t> after_received_ms;
  std::optional<int64_t> after_id;
  std::size_t limit = 50;
  enum class Total { None, Estimate, Exact } total = Total::None;
};

// The small columns of one row (no payload, no ack), for list pages.
struct MessageSummary {
  int64_t id = 0;
  std::string source;
  std::string sender;
  std::string control_id;
  std::string message_type;
  InboxStatus status = InboxStatus::Pending;
  std::string error;
  std::string discard_reason;
  int64_t received_at_ms = 0;
  std::optional<int64_t> completed_at_ms;
  int attempts = 0;
};

struct MessagePage {
  std::vector<MessageSummary> rows;
  bool has_more = false;  // another page follows (cursor: the last row's received_at, id)
  // When asked: the number of matching rows (ignoring the cursor). An estimate is exact
  // below kEstimateCap and reported as the cap (with total_is_lower_bound) above it.
  std::optional<int64_t> total;
  bool total_is_lower_bound = false;
};

inline constexpr int64_t kEstimateCap = 10000;

struct PruneRequest {
  std::vector<InboxStatus> statuses;  // never Pending
  int64_t received_before_ms = 0;
  std::size_t max_rows = 500;
};

struct InboxSize {
  int64_t file_bytes = 0;  // page_count * page_size
  int64_t used_bytes = 0;  // file_bytes minus the free pages
  bool incremental_vacuum = false;  // auto_vacuum=INCREMENTAL on this file
};

}  // namespace phrgate::queue
