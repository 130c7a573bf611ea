// Implementation of the audit trail (see audit_trail.h): schema, writer thread, queries.
#include "gateway/audit/audit_trail.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cstdio>
#include <ctime>

#include "gateway/core/log.h"
#include "gateway/core/sqlite_db.h"

namespace phrgate::audit {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit_event(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  person_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  client TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_event_at ON audit_event(at_ms);
CREATE INDEX IF NOT EXISTS audit_event_person ON audit_event(person_id, id);
CREATE INDEX IF NOT EXISTS audit_event_actor ON audit_event(actor, id);
CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
PRAGMA user_version = 1;
)sql";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_json_object(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return !d.HasParseError() && d.IsObject();
}

std::string text_detail(const std::string& text) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("text");
  w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

bool parse_digits(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string iso_instant(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::optional<int64_t> parse_instant(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (t.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
    return ms;
  }
  // YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|(+|-)HH:MM]
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0, offset_min = 0;
  if (t.size() < 10 || t[4] != '-' || t[7] != '-' || !parse_digits(t.substr(0, 4), year) ||
      !parse_digits(t.substr(5, 2), month) || !parse_digits(t.substr(8, 2), day))
    return std::nullopt;
  std::string_view rest = t.substr(10);
  if (!rest.empty()) {
    if (rest.size() < 6 || rest[0] != 'T' || rest[3] != ':' || !parse_digits(rest.substr(1, 2), hour) ||
        !parse_digits(rest.substr(4, 2), minute))
      return std::nullopt;
    rest.remove_prefix(6);
    if (rest.size() >= 3 && rest[0] == ':') {
      if (!parse_digits(rest.substr(1, 2), second)) return std::nullopt;
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        std::size_t n = 1;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        if (n == 1) return std::nullopt;
        std::string frac(rest.substr(1, std::min<std::size_t>(n - 1, 3)));
        while (frac.size() < 3) frac += '0';
        parse_digits(frac, millis);
        rest.remove_prefix(n);
      }
    }
    if (rest == "Z") {
      rest = {};
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
      int oh = 0, om = 0;
      if (!parse_digits(rest.substr(1, 2), oh) || !parse_digits(rest.substr(4, 2), om)) return std::nullopt;
      offset_min = (rest[0] == '+' ? 1 : -1) * (oh * 60 + om);
      rest = {};
    } else if (!rest.empty()) {
      return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - int64_t{offset_min} * 60;
  return secs * 1000 + millis;
}

AuditTrail::AuditTrail(AuditTrailOptions options) : options_(std::move(options)) {
  writer_db_ = std::make_unique<sqlite::Db>(options_.path);
  writer_db_->exec(kSchema);
  reader_db_ = std::make_unique<sqlite::Db>(options_.path);
  writer_ = std::thread([this] { writer_loop(); });
}

AuditTrail::~AuditTrail() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_cv_.notify_all();
  writer_.join();
  std::lock_guard lock(mutex_);
  if (!queue_.empty())
    log::error("audit.records_lost", {{"count", std::to_string(queue_.size())},
                                      {"reason", "the audit database could not be written at shutdown"}});
}

void AuditTrail::record(AuditRecord r) {
  if (r.at_ms == 0) r.at_ms = now_ms();
  if (r.role.empty() && options_.role_of) r.role = options_.role_of(r.actor);
  if (r.detail_json.empty()) r.detail_json = "{}";
  else if (!is_json_object(r.detail_json)) r.detail_json = text_detail(r.detail_json);
  std::unique_lock lock(mutex_);
  written_cv_.wait(lock, [this] { return queue_.size() < options_.max_queued || stopping_; });
  queue_.push_back(std::move(r));
  ++queued_total_;
  lock.unlock();
  queued_cv_.notify_one();
}

AuditRecorder AuditTrail::recorder() {
  return [this](AuditRecord r) { record(std::move(r)); };
}

bool AuditTrail::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const uint64_t target = queued_total_;
  queued_cv_.notify_one();
  return written_cv_.wait_for(lock, timeout, [&] { return written_total_ >= target; });
}

uint64_t AuditTrail::write_failures() const {
  std::lock_guard lock(mutex_);
  return write_failures_;
}

void AuditTrail::writer_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty() && stopping_) return;
    if (!stopping_ && options_.gather_delay.count() > 0 && queue_.size() < 512)
      queued_cv_.wait_for(lock, options_.gather_delay, [this] { return stopping_ || queue_.size() >= 512; });
    std::vector<AuditRecord> batch(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    lock.unlock();
    bool ok = true;
    try {
      write_batch(batch);
    } catch (const std::exception& e) {
      ok = false;
      log::error("audit.write_failed", {{"records", std::to_string(batch.size())}, {"error", e.what()},
                                        {"action", "kept in memory and retried"}});
    }
    lock.lock();
    if (ok) {
      written_total_ += batch.size();
      written_cv_.notify_all();
      continue;
    }
    ++write_failures_;
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    if (stopping_) return;  // the destructor reports what is left
    queued_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

void AuditTrail::write_batch(std::vector<AuditRecord>& batch) {
  sqlite::Transaction tx(*writer_db_);
  sqlite::Stmt insert(*writer_db_,
                      "INSERT INTO audit_event(at_ms, actor, role, action, target_type, target_id, person_id, "
                      "outcome, detail, client) VALUES(?,?,?,?,?,?,?,?,?,?)");
  for (const auto& r : batch) {
    insert.bind(1, r.at_ms).bind(2, r.actor).bind(3, r.role).bind(4, r.action).bind(5, r.target_type);
    insert.bind(6, r.target_id).bind(7, r.person_id).bind(8, r.outcome).bind(9, r.detail_json).bind(10, r.client);
    insert.run();
  }
  tx.commit();
}

AuditPage AuditTrail::query(const AuditQuery& q) {
  const int64_t limit = std::max<int64_t>(1, q.limit);
  std::string sql =
      "SELECT id, at_ms, actor, role, action, target_type, target_id, person_id, outcome, detail, client "
      "FROM audit_event WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR action = ?2) AND (?3 = '' OR person_id = ?3) "
      "AND at_ms >= ?4 AND at_ms < ?5 AND id < ?6 AND id > ?7 ORDER BY id ";
  sql += q.oldest_first ? "ASC" : "DESC";
  sql += " LIMIT ?8";
  std::lock_guard lock(reader_mutex_);
  sqlite::Stmt s(*reader_db_, sql.c_str());
  s.bind(1, q.actor).bind(2, q.action).bind(3, q.person_id).bind(4, q.since_ms).bind(5, q.until_ms);
  s.bind(6, q.before_id).bind(7, q.after_id).bind(8, limit + 1);
  AuditPage page;
  while (s.step()) {
    if (static_cast<int64_t>(page.records.size()) == limit) {
      page.more = true;
      break;
    }
    StoredAuditRecord r;
    r.id = s.column_int(0);
    r.record.at_ms = s.column_int(1);
    r.record.actor = s.column_text(2);
    r.record.role = s.column_text(3);
    r.record.action = s.column_text(4);
    r.record.target_type = s.column_text(5);
    r.record.target_id = s.column_text(6);
    r.record.person_id = s.column_text(7);
    r.record.outcome = s.column_text(8);
    r.record.detail_json = s.column_text(9);
    r.record.client = s.column_text(10);
    page.records.push_back(std::move(r));
  }
  return page;
}

}  // namespace phrgate::audit
