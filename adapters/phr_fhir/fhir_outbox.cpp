// Implementation of the phr_fhir outbox (see fhir_outbox.h for its invariants). The heads
// query takes the lowest pending seq per person; dead rows (state 1) no longer block their
// person's later rows. Values are always bound, never spliced into SQL.
#include "adapters/phr_fhir/fhir_outbox.h"

namespace phrgate::phr_fhir {

FhirOutbox::FhirOutbox(const std::string& path) : db_(path) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS outbox ("
      "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  person_id TEXT NOT NULL,"
      "  control_id TEXT NOT NULL,"
      "  bundle TEXT NOT NULL,"
      "  state INTEGER NOT NULL DEFAULT 0,"  // 0 pending, 1 dead letter
      "  attempts INTEGER NOT NULL DEFAULT 0,"
      "  created_ms INTEGER NOT NULL,"
      "  next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
      "  last_error TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX IF NOT EXISTS outbox_person ON outbox(state, person_id, seq);");
}

void FhirOutbox::append(const std::vector<NewOutboxItem>& items, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction tx(db_);
  sqlite::Stmt insert(db_, "INSERT INTO outbox(person_id, control_id, bundle, created_ms) VALUES (?, ?, ?, ?)");
  for (const auto& item : items) {
    insert.bind(1, item.person_id).bind(2, item.control_id).bind(3, item.bundle).bind(4, now_ms);
    insert.run();
  }
  tx.commit();
}

std::vector<OutboxItem> FhirOutbox::heads() {
  sqlite::Stmt q(db_,
                 "SELECT o.seq, o.person_id, o.control_id, o.attempts, o.created_ms, o.next_attempt_ms "
                 "FROM outbox o JOIN (SELECT MIN(seq) AS head FROM outbox WHERE state = 0 GROUP BY person_id) h "
                 "ON o.seq = h.head ORDER BY o.seq");
  std::vector<OutboxItem> out;
  while (q.step()) {
    OutboxItem item;
    item.seq = q.column_int(0);
    item.person_id = std::string(q.column_text(1));
    item.control_id = std::string(q.column_text(2));
    item.attempts = static_cast<int>(q.column_int(3));
    item.created_ms = q.column_int(4);
    item.next_attempt_ms = q.column_int(5);
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<OutboxItem> FhirOutbox::ready_heads(int64_t now_ms, const std::set<std::string>& busy,
                                                std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<OutboxItem> out;
  for (auto& item : heads()) {
    if (out.size() >= limit) break;
    if (item.next_attempt_ms > now_ms || busy.count(item.person_id)) continue;
    out.push_back(std::move(item));
  }
  sqlite::Stmt body(db_, "SELECT bundle FROM outbox WHERE seq = ?");
  for (auto& item : out) {
    body.bind(1, item.seq);
    if (body.step()) item.bundle = std::string(body.column_text(0));
    body.reset();
  }
  return out;
}

int64_t FhirOutbox::next_due_ms(const std::set<std::string>& busy) {
  std::lock_guard lock(mutex_);
  int64_t due = 0;
  for (const auto& item : heads()) {
    if (busy.count(item.person_id)) continue;
    int64_t at = item.next_attempt_ms > 0 ? item.next_attempt_ms : 1;
    if (due == 0 || at < due) due = at;
  }
  return due;
}

void FhirOutbox::remove(int64_t seq) {
  std::lock_guard lock(mutex_);
  sqlite::Stmt(db_, "DELETE FROM outbox WHERE seq = ?").bind(1, seq).run();
}

void FhirOutbox::schedule_retry(int64_t seq, int64_t next_attempt_ms, const std::string& error) {
  std::lock_guard lock(mutex_);
  sqlite::Stmt(db_, "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE seq = ?")
      .bind(1, next_attempt_ms)
      .bind(2, error)
      .bind(3, seq)
      .run();
}

void FhirOutbox::dead_letter(int64_t seq, const std::string& error) {
  std::lock_guard lock(mutex_);
  sqlite::Stmt(db_, "UPDATE outbox SET state = 1, attempts = attempts + 1, last_error = ? WHERE seq = ?")
      .bind(1, error)
      .bind(2, seq)
      .run();
}

OutboxCounts FhirOutbox::counts() {
  std::lock_guard lock(mutex_);
  OutboxCounts c;
  sqlite::Stmt q(db_,
                 "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 0), (SELECT COUNT(*) FROM outbox WHERE state = 1),"
                 " (SELECT COALESCE(MIN(created_ms), 0) FROM outbox WHERE state = 0)");
  if (q.step()) {
    c.pending = q.column_int(0);
    c.dead = q.column_int(1);
    c.oldest_pending_created_ms = q.column_int(2);
  }
  return c;
}

std::vector<DeadLetter> FhirOutbox::dead_letters(std::size_t limit) {
  std::lock_guard lock(mutex_);
  sqlite::Stmt q(db_, "SELECT seq, control_id, attempts, last_error FROM outbox WHERE state = 1 ORDER BY seq LIMIT ?");
  q.bind(1, static_cast<int64_t>(limit));
  std::vector<DeadLetter> out;
  while (q.step())
    out.push_back({q.column_int(0), std::string(q.column_text(1)), static_cast<int>(q.column_int(2)),
                   std::string(q.column_text(3))});
  return out;
}

}  // namespace phrgate::phr_fhir
