// The message browser's reads (see inbox_ops.h) and the Inbox defaults for inboxes without
// them. Each search names its driving index (INDEXED BY), chosen from the filters by expected
// selectivity, so a query never falls back to a full scan or a sort of millions of rows
// because the planner guessed wrong; other filters are checked on the rows the index yields.
// Paging is keyset on (received_at_ms, id), newest first. Values are always bound.
#include <algorithm>
#include <stdexcept>
#include <utility>
#include <variant>

#include "gateway/queue/inbox_ops.h"
#include "gateway/queue/inbox_schema.h"

namespace phrgate::queue {

std::string_view status_name(InboxStatus status) {
  switch (status) {
    case InboxStatus::Pending: return "pending";
    case InboxStatus::Done: return "done";
    case InboxStatus::Failed: return "failed";
    case InboxStatus::Rejected: return "rejected";
    case InboxStatus::Discarded: return "discarded";
  }
  return "unknown";
}

std::optional<InboxStatus> parse_status(std::string_view name) {
  for (int s = 0; s <= 4; ++s)
    if (status_name(static_cast<InboxStatus>(s)) == name) return static_cast<InboxStatus>(s);
  return std::nullopt;
}

std::string_view verdict_name(DeliveryVerdict verdict) {
  switch (verdict) {
    case DeliveryVerdict::Delivered: return "delivered";
    case DeliveryVerdict::Retry: return "retry";
    case DeliveryVerdict::Reject: return "reject";
  }
  return "unknown";
}

// Defaults for Inbox implementations without a browser (test doubles).
MessagePage Inbox::query(const MessageFilter&) { throw std::logic_error("inbox: query not supported"); }
std::vector<DeliveryAttempt> Inbox::delivery_attempts(int64_t) { return {}; }
std::optional<InboxStatus> Inbox::discard(int64_t, const std::string&, const std::string&) {
  throw std::logic_error("inbox: discard not supported");
}
std::optional<InboxStatus> Inbox::requeue_rejected(int64_t) {
  throw std::logic_error("inbox: requeue not supported");
}
std::size_t Inbox::prune(const PruneRequest&) { return 0; }

namespace ops {
namespace {

using Value = std::variant<int64_t, std::string>;

// Builds "WHERE a AND b ..." with numbered parameters.
class Conditions {
 public:
  void add(std::string sql) { terms_.push_back(std::move(sql)); }
  std::string param(Value v) {
    values_.push_back(std::move(v));
    return "?" + std::to_string(values_.size());
  }
  std::string where() const {
    std::string out;
    for (const auto& t : terms_) out += (out.empty() ? " WHERE " : " AND ") + t;
    return out;
  }
  void bind(sqlite::Stmt& stmt) const {
    for (std::size_t i = 0; i < values_.size(); ++i) {
      int index = static_cast<int>(i + 1);
      if (auto* n = std::get_if<int64_t>(&values_[i])) stmt.bind(index, *n);
      else stmt.bind(index, std::get<std::string>(values_[i]));
    }
  }
 private:
  std::vector<std::string> terms_;
  std::vector<Value> values_;
};

bool is_dead_letter_set(const std::vector<InboxStatus>& s) {
  return s.size() == 2 && ((s[0] == InboxStatus::Failed && s[1] == InboxStatus::Rejected) ||
                           (s[0] == InboxStatus::Rejected && s[1] == InboxStatus::Failed));
}

bool includes(const std::vector<InboxStatus>& s, InboxStatus x) {
  for (InboxStatus v : s)
    if (v == x) return true;
  return false;
}

// The FROM clause of a search, and the time and id columns its order and cursor use.
struct Source {
  std::string from;
  std::string time_col = "i.received_at_ms";
  std::string id_col = "i.id";
};

// The driving table and index for `f`, plus its filter terms (without the cursor).
Source source_and_filters(const MessageFilter& f, Conditions& c) {
  Source src;
  const bool rare_statuses = !f.statuses.empty() && !includes(f.statuses, InboxStatus::Done);
  auto indexed = [&src](const char* index) { src.from = std::string(" FROM inbox AS i INDEXED BY ") + index; };
  if (!f.control_id.empty()) {
    indexed("inbox_control_sender");
    c.add("i.control_id = " + c.param(f.control_id));
    c.add("i.control_id <> ''");  // lets the partial index apply
  } else if (!f.patient_value.empty()) {
    // The patient's entries newest first straight from the side table's key, then the rows
    // by id (CROSS JOIN keeps this order of the join): no sort of all of a patient's rows.
    src.from = " FROM inbox_patient AS p CROSS JOIN inbox AS i ON i.id = p.inbox_id";
    src.time_col = "p.received_at_ms";
    src.id_col = "p.inbox_id";
    c.add("p.value = " + c.param(f.patient_value));
    if (f.patient_system) c.add("p.system = " + c.param(*f.patient_system));
  } else if (is_dead_letter_set(f.statuses)) {
    indexed("inbox_dead_time");
  } else if (rare_statuses) {
    indexed("inbox_status_time");
  } else if (!f.sender.empty() && !f.message_type.empty()) {
    indexed("inbox_sender_type_time");
  } else if (!f.sender.empty()) {
    indexed("inbox_sender_time");
  } else if (!f.message_type.empty()) {
    indexed("inbox_type_time");
  } else if (!f.source.empty()) {
    indexed("inbox_source_time");
  } else if (f.statuses.size() == 1) {
    indexed("inbox_status_time");
  } else {
    indexed("inbox_time");
  }
  if (!f.sender.empty()) c.add("i.sender = " + c.param(f.sender));
  if (!f.message_type.empty()) c.add("i.message_type = " + c.param(f.message_type));
  if (!f.source.empty()) c.add("i.source = " + c.param(f.source));
  if (!f.statuses.empty()) {
    std::string in = "i.status IN (";
    for (std::size_t i = 0; i < f.statuses.size(); ++i)
      in += (i ? ", " : "") + std::to_string(static_cast<int>(f.statuses[i]));  // enum: no PHI
    c.add(in + ")");
  }
  if (f.since_ms) c.add(src.time_col + " >= " + c.param(*f.since_ms));
  if (f.until_ms) c.add(src.time_col + " < " + c.param(*f.until_ms));
  return src;
}

}  // namespace

MessagePage query_messages(sqlite::Db& db, const MessageFilter& filter) {
  MessagePage page;
  const std::size_t limit = std::max<std::size_t>(filter.limit, 1);
  Conditions c;
  Source src = source_and_filters(filter, c);
  if (filter.total != MessageFilter::Total::None) {
    // DISTINCT: a message may carry one identifier value under two systems.
    std::string sql = "SELECT count(*) FROM (SELECT DISTINCT " + src.id_col + src.from + c.where();
    if (filter.total == MessageFilter::Total::Estimate) sql += " LIMIT " + std::to_string(kEstimateCap + 1);
    sql += ")";
    sqlite::Stmt count(db, sql.c_str());
    c.bind(count);
    int64_t n = count.step() ? count.column_int(0) : 0;
    count.reset();
    if (filter.total == MessageFilter::Total::Estimate && n > kEstimateCap) {
      n = kEstimateCap;
      page.total_is_lower_bound = true;
    }
    page.total = n;
  }
  if (filter.after_received_ms && filter.after_id) {
    std::string t = c.param(*filter.after_received_ms);
    std::string id = c.param(*filter.after_id);
    // The first term is a plain range on the index's time column; the second breaks ties.
    c.add(src.time_col + " <= " + t);
    c.add("(" + src.time_col + " < " + t + " OR " + src.id_col + " < " + id + ")");
  }
  std::string sql =
      "SELECT i.id, i.source, i.sender, i.control_id, i.message_type, i.status, i.error, i.discard_reason,"
      " i.received_at_ms, i.completed_at_ms, i.attempts" + src.from + c.where() +
      " ORDER BY " + src.time_col + " DESC, " + src.id_col + " DESC";
  // The patient's entries come in index order (read lazily, stopped below); a LIMIT there
  // could cut a page short when one row appears twice (two systems, one value).
  if (filter.patient_value.empty() || !filter.control_id.empty()) sql += " LIMIT " + std::to_string(limit + 1);
  sqlite::Stmt stmt(db, sql.c_str());
  c.bind(stmt);
  while (stmt.step()) {
    int64_t id = stmt.column_int(0);
    if (!page.rows.empty() && page.rows.back().id == id) continue;  // same row, second system
    if (page.rows.size() == limit) {
      page.has_more = true;
      break;
    }
    MessageSummary m;
    m.id = id;
    m.source = stmt.column_text(1);
    m.sender = stmt.column_text(2);
    m.control_id = stmt.column_text(3);
    m.message_type = stmt.column_text(4);
    m.status = static_cast<InboxStatus>(stmt.column_int(5));
    m.error = stmt.column_text(6);
    m.discard_reason = stmt.column_text(7);
    m.received_at_ms = stmt.column_int(8);
    if (!stmt.column_is_null(9)) m.completed_at_ms = stmt.column_int(9);
    m.attempts = static_cast<int>(stmt.column_int(10));
    page.rows.push_back(std::move(m));
  }
  stmt.reset();
  return page;
}

std::vector<DeliveryAttempt> query_attempts(sqlite::Db& db, int64_t inbox_id) {
  std::vector<DeliveryAttempt> out;
  sqlite::Stmt stmt(db, schema::kAttemptsByRow);
  stmt.bind(1, inbox_id);
  while (stmt.step()) {
    DeliveryAttempt a;
    a.inbox_id = stmt.column_int(0);
    a.sink = stmt.column_text(1);
    a.at_ms = stmt.column_int(2);
    a.outcome = static_cast<DeliveryVerdict>(stmt.column_int(3));
    a.error = stmt.column_text(4);
    out.push_back(std::move(a));
  }
  stmt.reset();
  return out;
}

InboxSize query_size(sqlite::Db& db) {
  InboxSize s;
  int64_t page_size = schema::pragma_int(db, "PRAGMA page_size");
  int64_t pages = schema::pragma_int(db, "PRAGMA page_count");
  int64_t free_pages = schema::pragma_int(db, "PRAGMA freelist_count");
  s.file_bytes = pages * page_size;
  s.used_bytes = (pages - free_pages) * page_size;
  s.incremental_vacuum = schema::pragma_int(db, "PRAGMA auto_vacuum") == 2;
  return s;
}

}  // namespace ops
}  // namespace phrgate::queue
