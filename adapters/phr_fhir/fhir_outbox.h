// FhirOutbox: the phr_fhir sink's durable per-destination queue of transaction Bundles, one
// SQLite file per sink. Invariants:
//  * append() is one transaction: the sink reports Delivered only after it committed.
//  * A row leaves the outbox only through remove(), called after the destination answered 2xx
//    for the whole transaction; a 4xx rejection moves it to the dead-letter state (kept, with
//    the reason), never deletes it.
//  * Per person, rows are sent in seq order: only the lowest pending seq of a person is ever
//    handed out (ready_heads), so one person's records never overtake each other.
// Crash recovery: rows survive in the file (WAL, synchronous=FULL); after a restart every
// pending row is sent again (the Bundles are idempotent), attempts and backoff included.
// Thread-safe (one connection behind a mutex). Never logs Bundle content.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"

namespace phrgate::phr_fhir {

struct OutboxItem {
  int64_t seq = 0;
  std::string person_id;
  std::string control_id;
  std::string bundle;
  int attempts = 0;
  int64_t created_ms = 0;
  int64_t next_attempt_ms = 0;
};

struct NewOutboxItem {
  std::string person_id;
  std::string control_id;
  std::string bundle;
};

struct DeadLetter {
  int64_t seq = 0;
  std::string control_id;
  int attempts = 0;
  std::string error;
};

struct OutboxCounts {
  int64_t pending = 0;
  int64_t dead = 0;
  int64_t oldest_pending_created_ms = 0;  // 0 when nothing is pending
};

class FhirOutbox {
 public:
  explicit FhirOutbox(const std::string& path);

  void append(const std::vector<NewOutboxItem>& items, int64_t now_ms);
  // The head row of each person (lowest pending seq) that is due at now_ms and whose person is
  // not in `busy`, in seq order, at most `limit`.
  std::vector<OutboxItem> ready_heads(int64_t now_ms, const std::set<std::string>& busy, std::size_t limit);
  // The earliest next_attempt_ms among heads of persons not in `busy`; 0 when there are none.
  int64_t next_due_ms(const std::set<std::string>& busy);
  void remove(int64_t seq);
  void schedule_retry(int64_t seq, int64_t next_attempt_ms, const std::string& error);
  void dead_letter(int64_t seq, const std::string& error);
  OutboxCounts counts();
  std::vector<DeadLetter> dead_letters(std::size_t limit = 100);

 private:
  std::vector<OutboxItem> heads();
  std::mutex mutex_;
  sqlite::Db db_;
};

}  // namespace phrgate::phr_fhir
