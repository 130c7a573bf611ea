// phrgate-bench: prints phrgate's figures, one `name=value` line each (stable names, so runs
// can be compared). Built by the normal build, never run by ctest.
//   phrgate-bench convert   conversion and parse throughput, single thread, after warm-up
//   phrgate-bench ingest    MLLP ingest with commit-before-ACK against the real daemon on
//                           127.0.0.1 (separate process): msgs/s at 1/4/16 connections, ACK
//                           latency percentiles at fixed offered rates, daemon peak RSS,
//                           start-up time
//   phrgate-bench all       both (default)
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/common/mllp/mllp_client.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "gateway/mapping/code_map.h"
#include "tests/bench/bench_messages.h"
#include "tests/e2e/daemon_process.h"
#include "tests/support/temp_dir.h"

using Clock = std::chrono::steady_clock;

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
  std::vector<Case> cases(3);
  cases[0].name = "convert.adt_a01.msgs_per_s";
  cases[1].name = "convert.oru_r01_10obx.msgs_per_s";
  cases[2].name = "convert.oru_r01_50obx.msgs_per_s";
  for (int i = 0; i < 256; ++i) {
    cases[0].msgs.push_back(phrgate::bench::adt_a01(i));
    cases[1].msgs.push_back(phrgate::bench::oru_r01(i, 10));
    cases[2].msgs.push_back(phrgate::bench::oru_r01(i, 50));
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

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "all";
  if (what == "convert" || what == "all") bench_convert();
  if (what == "ingest" || what == "all") bench_ingest();
  return 0;
}
