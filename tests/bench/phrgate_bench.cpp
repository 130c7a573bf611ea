// phrgate-bench: prints phrgate's figures, one `name=value` line each (stable names, so runs
// can be compared). Built by the normal build, never run by ctest.
//   phrgate-bench convert   conversion and parse throughput, single thread, after warm-up
//   phrgate-bench ingest    MLLP ingest with commit-before-ACK against the real daemon on
//                           127.0.0.1 (separate process): msgs/s at 1/4/16 connections, ACK
//                           latency percentiles at fixed offered rates, daemon peak RSS,
//                           start-up time
//   phrgate-bench ingest-latency  ACK latency percentiles at 1,000 and 5,000 msgs/s on a fresh
//                           daemon (no backlog from the closed-loop runs)
//   phrgate-bench mappings  mapping tables: load and check of a generated 1,000,000-row set,
//                           lookup cost (hits, misses, with and without scope) and the number
//                           of heap allocations lookups make (counted by operator new below)
//   phrgate-bench backlog [N]  daemon RSS while it works through a backlog of N (default
//                           1,000,000) undelivered messages already in its inbox: RSS at
//                           ready, peak during the drain, at the end, and the drain rate
//   phrgate-bench ccda      C-CDA documents/s for a 50 KB and a 150 KB CCD (bench_ccda.h)
//   phrgate-bench all       convert, ingest, ingest-latency, mappings and ccda (default;
//                           backlog runs alone)
//   phrgate-bench convert-profile N [adt|oru10|oru50]  converts N messages of one kind (default
//                           oru10) and prints allocations per message; no timing. For
//                           instruction counts: valgrind --tool=callgrind
//                           --toggle-collect='*convert_profile_loop*' phrgate-bench convert-profile 1000
//                           counts N + 16 messages (16 warm-up): Ir per message = Ir / (N + 16)
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/common/mllp/mllp_client.h"
#include "adapters/ccda/ccda_to_fhir.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/code_map_check.h"
#include "tests/bench/bench_ccda.h"
#include "tests/bench/bench_messages.h"
#include "tests/e2e/daemon_process.h"
#include "tests/support/allocation_counter.h"
#include "gateway/queue/inbox.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using Clock = std::chrono::steady_clock;

// Every heap allocation of this process is counted, so `mappings.lookup_allocations` is measured,
// not assumed.

namespace {

void figure(const char* name, double value, const char* fmt = "%.0f") {
  std::printf("%s=", name);
  std::printf(fmt, value);
  std::printf("\n");
  std::fflush(stdout);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename F>
double rate(F&& op, double min_seconds) {
  for (int i = 0; i < 2000; ++i) op(i);  // warm-up
  std::size_t n = 0;
  auto t0 = Clock::now();
  while (true) {
    for (int i = 0; i < 1000; ++i) op(static_cast<int>(n + i));
    n += 1000;
    double s = seconds_since(t0);
    if (s >= min_seconds) return static_cast<double>(n) / s;
  }
}

void bench_convert() {
  std::vector<std::string> errors;
  auto maps = phrgate::mapping::CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, &errors);
  if (!maps) {
    std::fprintf(stderr, "cannot load mappings\n");
    std::exit(1);
  }
  struct Case {
    const char* name;
    std::vector<std::string> msgs;
  };
  std::vector<Case> cases(6);
  cases[0].name = "convert.adt_a01.msgs_per_s";
  cases[1].name = "convert.oru_r01_10obx.msgs_per_s";
  cases[2].name = "convert.oru_r01_50obx.msgs_per_s";
  cases[3].name = "convert.vxu_v04.msgs_per_s";
  cases[4].name = "convert.mdm_t02.msgs_per_s";
  cases[5].name = "convert.rde_o11.msgs_per_s";
  for (int i = 0; i < 256; ++i) {
    cases[0].msgs.push_back(phrgate::bench::adt_a01(i));
    cases[1].msgs.push_back(phrgate::bench::oru_r01(i, 10));
    cases[2].msgs.push_back(phrgate::bench::oru_r01(i, 50));
    cases[3].msgs.push_back(phrgate::bench::vxu_v04(i));
    cases[4].msgs.push_back(phrgate::bench::mdm_t02(i));
    cases[5].msgs.push_back(phrgate::bench::rde_o11(i));
  }
  phrgate::hl7v2::ConvertOptions opt;
  opt.source_name = "bench";
  opt.default_zone = "Z";
  opt.code_maps = &*maps;
  for (auto& c : cases) {
    std::size_t resources = 0;
    double r = rate(
        [&](int i) {
          const std::string& m = c.msgs[static_cast<std::size_t>(i) % c.msgs.size()];
          phrgate::hl7v2::ParseError err;
          auto msg = phrgate::hl7v2::Message::parse(m, &err);
          auto out = phrgate::hl7v2::convert_to_fhir(*msg, opt);
          if (!out.ok) {
            std::fprintf(stderr, "%s: %s\n", c.name, out.error.c_str());
            std::exit(1);
          }
          resources += out.resources.size();
        },
        2.0);
    figure(c.name, r);
  }
  // Parse only: MB/s over the ORU-10 messages, touching every field of every segment.
  std::size_t bytes = 0;
  for (const auto& m : cases[1].msgs) bytes += m.size();
  double avg = static_cast<double>(bytes) / static_cast<double>(cases[1].msgs.size());
  std::size_t sink = 0;
  double msgs = rate(
      [&](int i) {
        const std::string& m = cases[1].msgs[static_cast<std::size_t>(i) % cases[1].msgs.size()];
        phrgate::hl7v2::ParseError err;
        auto msg = phrgate::hl7v2::Message::parse(m, &err);
        for (const auto& seg : msg->segments()) sink += seg.field(3).size();
      },
      2.0);
  figure("parse.hl7v2.mb_per_s", msgs * avg / 1e6, "%.1f");
  if (sink == 42) std::printf("#\n");
}

// The loop convert-profile measures, kept out of line so that callgrind can count it alone
// (--toggle-collect) without the mapping load and message generation around it.
[[gnu::noinline]] std::size_t convert_profile_loop(const std::vector<std::string>& msgs, int n,
                                                   const phrgate::hl7v2::ConvertOptions& opt) {
  std::size_t resources = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& m = msgs[static_cast<std::size_t>(i) % msgs.size()];
    phrgate::hl7v2::ParseError err;
    auto msg = phrgate::hl7v2::Message::parse(m, &err);
    auto out = phrgate::hl7v2::convert_to_fhir(*msg, opt);
    if (!out.ok) {
      std::fprintf(stderr, "convert-profile: %s\n", out.error.c_str());
      std::exit(1);
    }
    resources += out.resources.size();
  }
  return resources;
}

void bench_convert_profile(int n, const std::string& kind) {
  std::vector<std::string> errors;
  auto maps = phrgate::mapping::CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, &errors);
  if (!maps || n <= 0) {
    std::fprintf(stderr, "convert-profile: cannot load mappings or bad count\n");
    std::exit(1);
  }
  std::vector<std::string> msgs;
  for (int i = 0; i < 256; ++i) {
    if (kind == "adt")
      msgs.push_back(phrgate::bench::adt_a01(i));
    else if (kind == "oru10")
      msgs.push_back(phrgate::bench::oru_r01(i, 10));
    else if (kind == "oru50")
      msgs.push_back(phrgate::bench::oru_r01(i, 50));
    else {
      std::fprintf(stderr, "convert-profile: kind must be adt, oru10 or oru50\n");
      std::exit(2);
    }
  }
  phrgate::hl7v2::ConvertOptions opt;
  opt.source_name = "bench";
  opt.default_zone = "Z";
  opt.code_maps = &*maps;
  convert_profile_loop(msgs, 16, opt);  // first-use growth of the reused buffers
  const std::uint64_t allocs0 = phrgate::testing::allocation_count();
  const std::size_t resources = convert_profile_loop(msgs, n, opt);
  const std::uint64_t allocs = phrgate::testing::allocation_count() - allocs0;
  std::printf("convert_profile.%s.messages=%d\n", kind.c_str(), n);
  figure(("convert_profile." + kind + ".resources_per_msg").c_str(),
         static_cast<double>(resources) / n, "%.1f");
  figure(("convert_profile." + kind + ".allocations_per_msg").c_str(),
         static_cast<double>(allocs) / n, "%.1f");
}

long daemon_peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// Closed loop: `conns` connections, each sending its next message as soon as the ACK arrives.
double ingest_closed_loop(uint16_t port, int conns, double seconds, std::atomic<int>& seq) {
  std::atomic<std::size_t> acked{0};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&] {
      phrgate::mllp::MllpClient client;
      client.connect("127.0.0.1", port);
      while (seconds_since(t0) < seconds) {
        std::string ack = client.send(phrgate::bench::oru_r01(seq.fetch_add(1), 10));
        if (ack.find("MSA|AA") != std::string::npos) acked.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  return static_cast<double>(acked.load()) / seconds_since(t0);
}

// Open loop: a fixed offered rate spread over 8 connections; ACK latency percentiles.
void ingest_fixed_rate(uint16_t port, int rate_per_s, double seconds, std::atomic<int>& seq, const std::string& tag) {
  const int conns = 8;
  std::vector<std::vector<double>> lat(conns);
  std::vector<std::thread> threads;
  auto start = Clock::now() + std::chrono::milliseconds(100);
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      phrgate::mllp::MllpClient client;
      client.connect("127.0.0.1", port);
      auto interval = std::chrono::duration<double>(static_cast<double>(conns) / rate_per_s);
      auto next = start + std::chrono::duration_cast<Clock::duration>(interval * (static_cast<double>(c) / conns));
      int n = static_cast<int>(seconds * rate_per_s / conns);
      for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_until(next);
        std::string m = phrgate::bench::oru_r01(seq.fetch_add(1), 10);
        auto t0 = Clock::now();
        client.send(m);
        // Latency from the scheduled send time: includes queueing if we fell behind.
        lat[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - std::min(t0, next)).count());
        next += std::chrono::duration_cast<Clock::duration>(interval);
      }
    });
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0 : all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))]; };
  figure(("ingest.ack_latency_us.p50@" + tag).c_str(), pct(0.50));
  figure(("ingest.ack_latency_us.p99@" + tag).c_str(), pct(0.99));
  figure(("ingest.ack_latency_us.p999@" + tag).c_str(), pct(0.999));
}

// ACK latency at fixed offered rates on a fresh daemon (no backlog left by the closed-loop
// runs of bench_ingest, which the pipeline is still converting when those fixed-rate runs
// start): the latency a sender sees when the daemon keeps up.
void bench_ingest_latency() {
  phrgate::testing::TempDir dir("phrgate-bench-");
  const std::string token = "bench-token-0123456789abcdef";
  phrgate::testing::DaemonProcess daemon(dir.path(), phrgate::testing::basic_config(dir.path(), token));
  daemon.start();
  uint16_t port = daemon.source_port("emr");
  std::atomic<int> seq{0};
  ingest_fixed_rate(port, 1000, 3.0, seq, "1000.fresh");
  ingest_fixed_rate(port, 5000, 3.0, seq, "5000.fresh");
  figure("ingest.fresh.messages_total", seq.load());
  daemon.stop();
}

void bench_ingest() {
  phrgate::testing::TempDir dir("phrgate-bench-");
  const std::string token = "bench-token-0123456789abcdef";
  phrgate::testing::DaemonProcess daemon(dir.path(), phrgate::testing::basic_config(dir.path(), token));
  auto t0 = Clock::now();
  daemon.start();
  figure("startup.to_ready_ms.wall", seconds_since(t0) * 1000, "%.1f");
  figure("startup.to_ready_ms.daemon", daemon.startup_ms(), "%.1f");
  uint16_t port = daemon.source_port("emr");
  std::atomic<int> seq{0};
  for (int conns : {1, 4, 16}) {
    double r = ingest_closed_loop(port, conns, 3.0, seq);
    figure(("ingest.mllp.msgs_per_s.conns_" + std::to_string(conns)).c_str(), r);
  }
  ingest_fixed_rate(port, 1000, 3.0, seq, "1000");
  ingest_fixed_rate(port, 5000, 3.0, seq, "5000");
  figure("ingest.messages_total", seq.load());
  figure("daemon.peak_rss_mb", static_cast<double>(daemon_peak_rss_kb(daemon.pid())) / 1024.0, "%.1f");
  daemon.stop();
}


// ---------------------------------------------------------------- C-CDA

// Documents converted per second (parse with the secure parser + every section to FHIR),
// single thread, for the synthetic CCDs of tests/bench/bench_ccda.h.
void bench_ccda() {
  std::vector<std::string> errors;
  auto maps = phrgate::mapping::CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, &errors);
  if (!maps) {
    std::fprintf(stderr, "cannot load mappings\n");
    std::exit(1);
  }
  for (int kb : {50, 150}) {
    const std::string doc = phrgate::bench::ccd_document(static_cast<std::size_t>(kb) * 1024);
    phrgate::pipeline::ConvertInput in;
    in.payload = doc;
    in.source = "bench";
    in.code_maps = &*maps;
    std::size_t resources = 0;
    auto convert_one = [&] {
      auto out = phrgate::ccda::convert_ccda_payload(in);
      if (out.empty() || !out[0].ok) {
        std::fprintf(stderr, "ccda %d KB: %s\n", kb, out.empty() ? "no result" : out[0].error.c_str());
        std::exit(1);
      }
      resources = out[0].resources.size();
    };
    for (int i = 0; i < 20; ++i) convert_one();  // warm-up
    int n = 0;
    const auto t0 = Clock::now();
    while (seconds_since(t0) < 2.0) {
      convert_one();
      ++n;
    }
    const std::string tag = "convert.ccda_" + std::to_string(kb) + "kb";
    figure((tag + ".docs_per_s").c_str(), n / seconds_since(t0), "%.1f");
    figure((tag + ".bytes").c_str(), static_cast<double>(doc.size()));
    figure((tag + ".resources").c_str(), static_cast<double>(resources));
  }
}

// ---------------------------------------------------------------- backlog

long process_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// The inbox count `key` ("pending", "done", "failed") from GET /api/queues (-1 when unreadable).
long long inbox_count(uint16_t http_port, const std::string& token, const std::string& key = "pending") {
  auto r = phrgate::testing::http_request("127.0.0.1", http_port, "GET", "/api/queues", {},
                                          {{"Authorization", "Bearer " + token}});
  const std::string needle = "\"" + key + "\":";
  const auto at = r.body.find(needle);
  return at == std::string::npos ? -1 : std::atoll(r.body.c_str() + at + needle.size());
}

void bench_backlog(int messages) {
  phrgate::testing::TempDir dir("phrgate-bench-");
  const std::string token = "bench-token-0123456789abcdef";
  const std::string data = dir.path() + "/data";
  std::filesystem::create_directories(data);
  auto t0 = Clock::now();
  {
    phrgate::queue::SqliteInboxOptions o;
    o.path = data + "/inbox.db";
    auto inbox = phrgate::queue::open_sqlite_inbox(o);
    for (int i = 0; i < messages; ++i) {
      phrgate::queue::InboxMessage m;
      m.source = "emr";
      m.sender = "BENCH";
      m.control_id = "B" + std::to_string(i);
      m.message_type = "ORU^R01";
      m.content_type = "application/hl7-v2";
      m.payload = phrgate::bench::oru_r01(i, 10);
      inbox->submit(std::move(m), [](phrgate::queue::SubmitResult, int64_t) {});
      if (i % 100000 == 99999) inbox->flush();
    }
    inbox->flush();
  }
  figure("backlog.messages", messages);
  figure("backlog.fill_s", seconds_since(t0), "%.1f");

  phrgate::testing::DaemonProcess daemon(dir.path(), phrgate::testing::basic_config(dir.path(), token));
  t0 = Clock::now();
  daemon.start(std::chrono::seconds(120));
  figure("backlog.startup_ms", seconds_since(t0) * 1000, "%.1f");
  figure("backlog.daemon_rss_mb.at_ready", static_cast<double>(process_rss_kb(daemon.pid())) / 1024.0, "%.1f");
  const auto drain0 = Clock::now();
  long long left = messages;
  double max_rss_mb = 0;
  std::vector<double> samples;
  while (left > 0 && seconds_since(drain0) < 1800) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double rss = static_cast<double>(process_rss_kb(daemon.pid())) / 1024.0;
    samples.push_back(rss);
    max_rss_mb = std::max(max_rss_mb, rss);
    left = inbox_count(daemon.http_port(), token);
    if (left < 0) break;
  }
  const double drain_s = seconds_since(drain0);
  figure("backlog.drain_s", drain_s, "%.1f");
  figure("backlog.drain_msgs_per_s", static_cast<double>(messages) / drain_s);
  figure("backlog.left_pending", static_cast<double>(left));
  // Done = converted and stored; failed would be conversion errors or identity reviews.
  figure("backlog.done", static_cast<double>(inbox_count(daemon.http_port(), token, "done")));
  figure("backlog.failed", static_cast<double>(inbox_count(daemon.http_port(), token, "failed")));
  // Flatness: RSS in the first and the last tenth of the drain.
  if (samples.size() >= 10) {
    const std::size_t tenth = samples.size() / 10;
    figure("backlog.daemon_rss_mb.first_tenth_max", *std::max_element(samples.begin(), samples.begin() + tenth), "%.1f");
    figure("backlog.daemon_rss_mb.last_tenth_max", *std::max_element(samples.end() - tenth, samples.end()), "%.1f");
  }
  figure("backlog.daemon_rss_mb.peak_sampled", max_rss_mb, "%.1f");
  figure("backlog.daemon_peak_rss_mb", static_cast<double>(daemon_peak_rss_kb(daemon.pid())) / 1024.0, "%.1f");
  daemon.stop();
}

// ---------------------------------------------------------------- mapping tables

long self_rss_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

constexpr const char* kUcumUnits[] = {"mg/dL", "g/L", "mmol/L", "10*3/uL", "mm[Hg]", "kg/m2",
                                      "{cells}/uL", "%", "/min", "mL/min/{1.73_m2}", "u[IU]/mL",
                                      "[lb_av]", "[in_i]", "Cel", "ng/mL", "meq/L"};
constexpr int kScopes = 8;

// Row i of the generated set (one table row per index, 10 kinds):
//   0-5 local lab code -> LOINC (every 50th with a quoted display holding a comma)
//   6 unit -> UCUM, 7 assigning authority -> urn:oid:, 8 HL7 table 0203 -> v2-0203
//   9 a scoped row overriding the lab code of row i-9 for one of kScopes hospitals
void append_row(std::string& out, int i) {
  char buf[256];
  int n = 0;
  const int kind = i % 10;
  if (kind <= 5) {
    n = std::snprintf(buf, sizeof buf, "LAB%d,C%d,http://loinc.org,%d-%d,%s%d%s,\n", i % 7, i,
                      10000 + i % 89999, i % 10, i % 50 == 0 ? "\"Local test, " : "Local test ",
                      i, i % 50 == 0 ? "\"" : "");
  } else if (kind == 6) {
    n = std::snprintf(buf, sizeof buf, "unit,U%d,http://unitsofmeasure.org,%s,,\n", i,
                      kUcumUnits[static_cast<std::size_t>(i / 10) % std::size(kUcumUnits)]);
  } else if (kind == 7) {
    n = std::snprintf(buf, sizeof buf, "assigning-authority,AA%d,urn:oid:2.16.840.1.113883.19.%d,,Authority %d,\n", i, i, i);
  } else if (kind == 8) {
    n = std::snprintf(buf, sizeof buf, "HL70203,T%d,http://terminology.hl7.org/CodeSystem/v2-0203,MR,Medical record number,\n", i);
  } else {
    const int base = i - 9;
    n = std::snprintf(buf, sizeof buf, "LAB%d,C%d,http://loinc.org,%d-%d,Local test %d (hospital),hospital_%d\n",
                      base % 7, base, 20000 + base % 79999, base % 10, base, (base / 10) % kScopes);
  }
  out.append(buf, static_cast<std::size_t>(n));
}

// Writes `rows` rows in 10 tables plus the shipped code_systems.csv; returns the bytes written.
std::size_t write_mapping_set(const std::string& dir, int rows) {
  std::size_t bytes = 0;
  const int files = 10;
  for (int f = 0; f < files; ++f) {
    std::string text = "# generated by phrgate-bench mappings\n"
                       "source_system,source_code,target_system,target_code,target_display,scope\n";
    for (int i = f * (rows / files); i < (f + 1) * (rows / files); ++i) append_row(text, i);
    std::ofstream(dir + "/table_" + std::to_string(f) + ".csv", std::ios::binary) << text;
    bytes += text.size();
  }
  std::ifstream registry(std::string(PHRGATE_MAPPINGS_DIR) + "/code_systems.csv", std::ios::binary);
  std::ofstream(dir + "/code_systems.csv", std::ios::binary) << registry.rdbuf();
  return bytes;
}

// CPU time of this thread: the machine is shared, so wall time would count other people's work.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Median over `runs` of op(): {wall ms, thread CPU ms}.
template <typename F>
std::pair<double, double> median_ms(int runs, F&& op) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    op();
    cpu.push_back((thread_cpu_seconds() - c0) * 1000);
    wall.push_back(seconds_since(t0) * 1000);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

struct LookupKey {
  std::string system, code, scope;
  bool expect_hit;
  bool expect_scoped;
};

void bench_mappings() {
  const int rows = 1000000;
  phrgate::testing::TempDir dir("phrgate-bench-maps-");
  const std::size_t bytes = write_mapping_set(dir.path(), rows);
  figure("mappings.rows", rows);
  figure("mappings.table_mb", static_cast<double>(bytes) / 1e6, "%.1f");

  std::optional<phrgate::mapping::CodeMaps> maps;
  const auto [load_ms, load_cpu_ms] = median_ms(3, [&] {
    maps.reset();
    std::vector<std::string> errors;
    maps = phrgate::mapping::CodeMaps::load_dir(dir.path(), &errors);
    if (!maps) {
      std::fprintf(stderr, "generated tables refused: %s\n", errors.empty() ? "?" : errors[0].c_str());
      std::exit(1);
    }
  });
  figure("mappings.load_1m_rows_ms", load_ms, "%.0f");
  figure("mappings.load_1m_rows_cpu_ms", load_cpu_ms, "%.0f");
  figure("mappings.rss_mb_after_load", static_cast<double>(self_rss_kb("VmRSS:")) / 1024.0, "%.0f");
  {
    // Heap allocations of one load: a handful per table, none per row (shows the counter works).
    maps.reset();
    const std::uint64_t before = phrgate::testing::allocation_count();
    maps = phrgate::mapping::CodeMaps::load_dir(dir.path(), nullptr);
    figure("mappings.load_allocations", static_cast<double>(phrgate::testing::allocation_count() - before));
  }
  const auto [check_ms, check_cpu_ms] = median_ms(3, [&] {
    auto report = phrgate::mapping::check_mapping_dir(dir.path(), "");
    if (!report.ok() || report.rows != static_cast<std::size_t>(rows)) std::exit(1);
  });
  figure("mappings.check_1m_rows_ms", check_ms, "%.0f");
  figure("mappings.check_1m_rows_cpu_ms", check_cpu_ms, "%.0f");

  // Lookup keys, built before timing. Scoped rows override lab codes for rows whose
  // (index / 10) % kScopes gives the hospital; other hospitals fall back to the all-sources row.
  auto make = [](int i, int scope, bool hit, bool scoped) {
    LookupKey k;
    k.system = "LAB" + std::to_string(i % 7);
    k.code = (hit ? "C" : "X") + std::to_string(i);
    k.scope = scope < 0 ? std::string() : "hospital_" + std::to_string(scope);
    k.expect_hit = hit;
    k.expect_scoped = scoped;
    return k;
  };
  struct Case {
    const char* name;
    std::vector<LookupKey> keys;
  };
  std::vector<Case> cases = {{"mappings.lookup_ns.hit", {}},
                             {"mappings.lookup_ns.hit_scoped_row", {}},
                             {"mappings.lookup_ns.hit_scope_fallback", {}},
                             {"mappings.lookup_ns.miss", {}},
                             {"mappings.lookup_ns.miss_with_scope", {}}};
  uint32_t rnd = 12345;
  auto next = [&rnd] { return rnd = rnd * 1664525u + 1013904223u; };
  for (int n = 0; n < 4096; ++n) {
    const int i = static_cast<int>(next() % (rows / 10)) * 10;  // a kind-0 row; i+9 scopes it
    const int own = (i / 10) % kScopes;
    cases[0].keys.push_back(make(i, -1, true, false));
    cases[1].keys.push_back(make(i, own, true, true));
    cases[2].keys.push_back(make(i, (own + 1) % kScopes, true, false));
    cases[3].keys.push_back(make(i, -1, false, false));
    cases[4].keys.push_back(make(i, own, false, false));
  }
  const std::uint64_t allocations_before = phrgate::testing::allocation_count();
  std::size_t wrong = 0, total_lookups = 0;
  double total_ns = 0;
  for (auto& c : cases) {
    const int rounds = 500;
    const double c0 = thread_cpu_seconds();
    for (int r = 0; r < rounds; ++r)
      for (const auto& k : c.keys) {
        const auto* m = maps->lookup(k.system, k.code, k.scope);
        if ((m != nullptr) != k.expect_hit ||
            (m && (m->display.find("(hospital)") != std::string_view::npos) != k.expect_scoped))
          ++wrong;
      }
    const double ns = (thread_cpu_seconds() - c0) * 1e9;
    const std::size_t count = static_cast<std::size_t>(rounds) * c.keys.size();
    total_ns += ns;
    total_lookups += count;
    figure(c.name, ns / static_cast<double>(count), "%.1f");
  }
  std::uint64_t allocations = phrgate::testing::allocation_count() - allocations_before;
  figure("mappings.lookup_ns", total_ns / static_cast<double>(total_lookups), "%.1f");

  // The hot path as conversions see it: the shipped tables (a few hundred rows, in cache),
  // looked up with a source name as scope, 6 hits and 2 misses.
  auto shipped = phrgate::mapping::CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, nullptr);
  if (!shipped) std::exit(1);
  const std::pair<std::string, std::string> probes[] = {
      {"HL70001", "F"},  {"unit", "mg/dL"}, {"HL70203", "MR"},   {"HL70396", "LN"},
      {"HL70078", "H"},  {"HL70085", "F"},  {"99LAB", "GLU-LOCAL"}, {"assigning-authority", "EMR1"}};
  const std::string source = "emr_main";
  std::size_t hits = 0;
  const std::uint64_t shipped_allocations_before = phrgate::testing::allocation_count();
  const double c0 = thread_cpu_seconds();
  for (int r = 0; r < 1000000; ++r)
    for (const auto& [system, code] : probes) hits += shipped->lookup(system, code, source) != nullptr;
  const double shipped_ns = (thread_cpu_seconds() - c0) * 1e9 / (1000000.0 * std::size(probes));
  allocations += phrgate::testing::allocation_count() - shipped_allocations_before;
  figure("mappings.lookup_ns.shipped_tables", shipped_ns, "%.1f");
  if (hits != 6000000) {
    std::fprintf(stderr, "mappings: shipped tables: %zu hits, expected 6000000\n", hits);
    std::exit(1);
  }
  figure("mappings.lookup_allocations", static_cast<double>(allocations));
  if (wrong != 0) {
    std::fprintf(stderr, "mappings: %zu lookups returned the wrong row\n", wrong);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "all";
  if (what == "convert" || what == "all") bench_convert();
  if (what == "ingest" || what == "all") bench_ingest();
  if (what == "ingest-latency" || what == "all") bench_ingest_latency();
  if (what == "mappings" || what == "all") bench_mappings();
  if (what == "ccda" || what == "all") bench_ccda();
  if (what == "backlog") bench_backlog(argc > 2 ? std::atoi(argv[2]) : 1'000'000);
  if (what == "convert-profile")
    bench_convert_profile(argc > 2 ? std::atoi(argv[2]) : 1000, argc > 3 ? argv[3] : "oru10");
  return 0;
}
