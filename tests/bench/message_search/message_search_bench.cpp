// phrgate-message-search-bench: builds an inbox of N rows (default 10,000,000) with a
// realistic spread of senders, types, sources, statuses, patients and times over 90 days,
// by bulk insert straight into the inbox schema (one transaction per 100k rows), then runs
// each query shape of the message browser 50 times through Inbox::query and prints
// name=value lines (rows, db_bytes, build_seconds, <shape>_p50_ms, <shape>_p99_ms).
// Usage: phrgate-message-search-bench [--rows N] [--db PATH (reused when it exists)] [--runs R]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/queue/inbox.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSenders = 50, kSources = 8, kPatients = 1'000'000;
constexpr int64_t kDayMs = 86'400'000;
const char* const kTypes[] = {"ORU^R01", "ADT^A08", "ADT^A01", "ADT^A03", "ADT^A04", "ORM^O01",
                              "SIU^S12", "MDM^T02", "VXU^V04", "DFT^P03"};
const double kTypeWeights[] = {45, 20, 8, 8, 6, 6, 3, 2, 1.5, 0.5};

std::string sender_name(int s) { return "APP" + std::to_string(s) + "^FACILITY" + std::to_string(s); }
std::string source_name(int s) { return "feed-" + std::to_string(s % kSources); }
std::string patient_value(int p) { return "MRN" + std::to_string(p); }
std::string patient_system(int sender) { return "urn:oid:2.16.840.1.113883.19." + std::to_string(sender % 5); }

// Zipf-like weights: sender k gets weight 1/(k+1).
std::discrete_distribution<int> sender_distribution() {
  std::vector<double> w;
  for (int k = 0; k < kSenders; ++k) w.push_back(1.0 / (k + 1));
  return std::discrete_distribution<int>(w.begin(), w.end());
}

double build(const std::string& path, int64_t rows, int64_t start_ms) {
  auto t0 = Clock::now();
  { queue::SqliteInboxOptions o; o.path = path; queue::open_sqlite_inbox(o); }  // schema only
  sqlite::Db db(path);
  // A scratch file: no journal while building (a crash here just means building again).
  db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000000;");
  sqlite::Stmt insert(db,
      "INSERT INTO inbox(id, source, sender, control_id, message_type, content_type, status, error,"
      " ack, received_at_ms, completed_at_ms, attempts, mapping_version, resources, payload)"
      " VALUES(?1, ?2, ?3, ?4, ?5, 'application/hl7-v2', ?6, ?7, 'MSA|AA', ?8, ?9, 1, 'v1', ?10, ?11)");
  sqlite::Stmt patient(db, "INSERT OR IGNORE INTO inbox_patient(value, system, received_at_ms, inbox_id) VALUES(?1, ?2, ?3, ?4)");
  std::mt19937_64 rng(42);
  auto senders = sender_distribution();
  std::discrete_distribution<int> types(std::begin(kTypeWeights), std::end(kTypeWeights));
  std::uniform_real_distribution<double> unit(0, 1);
  // Patients: a few frequent ones, many rare ones (square of a uniform skews to low ids).
  auto pick_patient = [&] { return static_cast<int>(std::pow(unit(rng), 2.0) * kPatients); };
  const double step_ms = 90.0 * kDayMs / static_cast<double>(rows);
  const std::string payload_base(180, 'x');
  std::vector<int64_t> per_sender(kSenders, 0);
  constexpr int64_t kTxRows = 100'000;
  for (int64_t first = 0; first < rows; first += kTxRows) {
    sqlite::Transaction tx(db);
    for (int64_t i = first; i < std::min(rows, first + kTxRows); ++i) {
      int s = senders(rng);
      int type = types(rng);
      int64_t at = start_ms + static_cast<int64_t>(static_cast<double>(i) * step_ms);
      double roll = unit(rng);
      int status = rows - i <= 5000 ? 0 : roll < 0.010 ? 2 : roll < 0.015 ? 3 : roll < 0.020 ? 4 : 1;
      int p = pick_patient();
      std::string control = "MSG" + std::to_string(++per_sender[static_cast<std::size_t>(s)]);
      insert.bind(1, i + 1).bind(2, source_name(s)).bind(3, sender_name(s)).bind(4, control);
      insert.bind(5, kTypes[type]).bind(6, status).bind(7, status == 2 ? "sink: refused" : status == 3 ? "unparseable" : "");
      insert.bind(8, at);
      if (status == 0) insert.bind_null(9); else insert.bind(9, at + 40);
      insert.bind(10, status == 1 ? "Patient/p" + std::to_string(p) : std::string());
      insert.bind_blob(11, "MSH|^~\\&|" + sender_name(s) + "|" + control + "|" + payload_base).run();
      if (status == 1 || status == 2) patient.bind(1, patient_value(p)).bind(2, patient_system(s)).bind(3, at).bind(4, i + 1).run();
    }
    tx.commit();
  }
  db.exec("PRAGMA journal_mode = WAL");
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Shape {
  const char* name;
  std::function<queue::MessageFilter(std::mt19937_64&)> make;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int runs = 50;
  std::string db_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--db")) db_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--runs")) runs = std::stoi(argv[i + 1]);
  }
  std::unique_ptr<testing::TempDir> tmp;
  if (db_path.empty()) {
    tmp = std::make_unique<testing::TempDir>();
    db_path = tmp->file("inbox.db");
  }
  const int64_t start_ms = 1'760'000'000'000;  // 2025-10-09, the first row
  double build_seconds = 0;
  if (!std::filesystem::exists(db_path)) build_seconds = build(db_path, rows, start_ms);

  queue::SqliteInboxOptions o;
  o.path = db_path;
  auto inbox = queue::open_sqlite_inbox(o);
  auto stats = inbox->stats();
  rows = stats.pending + stats.done + stats.failed + stats.rejected + stats.discarded;
  std::printf("rows=%lld\ndb_bytes=%lld\nbuild_seconds=%.1f\n", static_cast<long long>(rows),
              static_cast<long long>(inbox->size().file_bytes), build_seconds);

  const int64_t span = 90 * kDayMs;
  auto random_time = [&](std::mt19937_64& r) {
    return start_ms + static_cast<int64_t>(r() % static_cast<uint64_t>(span));
  };
  auto top_sender = [](std::mt19937_64& r) { return sender_name(static_cast<int>(r() % 3)); };
  auto rare_sender = [](std::mt19937_64& r) { return sender_name(40 + static_cast<int>(r() % 10)); };
  using F = queue::MessageFilter;
  std::vector<Shape> shapes = {
      {"newest", [](auto&) { return F{}; }},
      {"cursor_deep", [&](auto& r) { F f; f.after_received_ms = random_time(r); f.after_id = rows; return f; }},
      {"sender_top", [&](auto& r) { F f; f.sender = top_sender(r); return f; }},
      {"sender_rare", [&](auto& r) { F f; f.sender = rare_sender(r); return f; }},
      {"type_rare", [](auto&) { F f; f.message_type = "DFT^P03"; return f; }},
      {"source", [](auto& r) { F f; f.source = source_name(static_cast<int>(r() % kSources)); return f; }},
      {"status_failed", [](auto&) { F f; f.statuses = {queue::InboxStatus::Failed}; return f; }},
      {"status_pending", [](auto&) { F f; f.statuses = {queue::InboxStatus::Pending}; return f; }},
      {"deadletters", [](auto&) { F f; f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected}; return f; }},
      {"deadletters_cursor_deep", [&](auto& r) {
         F f; f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected};
         f.after_received_ms = random_time(r); f.after_id = rows; return f; }},
      {"control_id", [](auto& r) { F f; f.control_id = "MSG" + std::to_string(1 + r() % 1000); return f; }},
      {"control_id_sender", [](auto& r) { F f; f.control_id = "MSG" + std::to_string(1 + r() % 1000); f.sender = sender_name(static_cast<int>(r() % 5)); return f; }},
      {"patient_frequent", [](auto& r) { F f; f.patient_value = patient_value(static_cast<int>(r() % 100)); return f; }},
      {"patient_typical", [](auto& r) { F f; f.patient_value = patient_value(500'000 + static_cast<int>(r() % 400'000)); return f; }},
      {"patient_system_value", [](auto& r) { int p = 500'000 + static_cast<int>(r() % 400'000); F f; f.patient_value = patient_value(p); f.patient_system = patient_system(static_cast<int>(r() % 5)); return f; }},
      {"window_1h", [&](auto& r) { F f; f.since_ms = random_time(r); f.until_ms = *f.since_ms + 3'600'000; return f; }},
      {"sender_type", [&](auto& r) { F f; f.sender = top_sender(r); f.message_type = "ADT^A01"; return f; }},
      {"sender_rare_type_rare", [&](auto& r) { F f; f.sender = rare_sender(r); f.message_type = "DFT^P03"; return f; }},
      {"sender_deadletters", [&](auto& r) { F f; f.sender = rare_sender(r); f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected}; return f; }},
      {"type_window_1d", [&](auto& r) { F f; f.message_type = "VXU^V04"; f.since_ms = random_time(r); f.until_ms = *f.since_ms + kDayMs; return f; }},
      {"sender_total_estimate", [&](auto& r) { F f; f.sender = top_sender(r); f.total = F::Total::Estimate; return f; }},
      {"deadletters_total_exact", [](auto&) { F f; f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected}; f.total = F::Total::Exact; return f; }},
  };
  std::mt19937_64 rng(7);
  for (const auto& shape : shapes) {
    std::vector<double> ms;
    std::size_t returned = 0;
    for (int i = 0; i < runs; ++i) {
      queue::MessageFilter f = shape.make(rng);
      auto t0 = Clock::now();
      queue::MessagePage page = inbox->query(f);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      returned += page.rows.size();
    }
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
    std::printf("%s_p50_ms=%.2f\n%s_p99_ms=%.2f\n%s_avg_rows=%.1f\n", shape.name, pct(0.5), shape.name, pct(0.99),
                shape.name, static_cast<double>(returned) / runs);
    std::fflush(stdout);
  }
  return 0;
}
