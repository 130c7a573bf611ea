// phrgate-loadgen: the MLLP load generator used by tests/bench/run_peers.sh, a separate
// process from whatever it measures. Prints `name=value` lines.
//   phrgate-loadgen send --port P [--conns N] [--seconds S] [--obx K] [--tag T] [--rate R]
//       closed loop: N connections, each sends its next ORU^R01 (K OBX) when the ACK
//       arrives; prints loadgen.<T>.msgs_per_s and ACK latency percentiles (us). With
//       --rate: open loop, R msgs/s offered over the N connections on a fixed schedule;
//       latency counts from the scheduled send time, so falling behind shows.
//   phrgate-loadgen ack-server --port P
//       a trivial MLLP server answering every frame with a fixed AA, no parsing, no disk:
//       the ceiling of the load generator itself. Runs until killed.
//   phrgate-loadgen dump --count N [--obx K]
//       writes N ORU^R01 messages (CR segments, one per line after "\n") to stdout, so
//       other programs (the npm peers) parse exactly the same inputs.
//   phrgate-loadgen dump-ccd --kb N
//       writes one synthetic C-CDA CCD of about N KB (tests/bench/bench_ccda.h) to stdout,
//       the document phrgate-bench converts, for the C-CDA peers.
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/mllp/mllp_client.h"
#include "adapters/common/mllp/mllp_listener.h"
#include "tests/bench/bench_ccda.h"
#include "tests/bench/bench_messages.h"

using Clock = std::chrono::steady_clock;

namespace {

std::string arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return argv[i + 1];
  return fallback;
}

int cmd_send(int argc, char** argv) {
  const auto port = static_cast<uint16_t>(std::atoi(arg(argc, argv, "--port", "0").c_str()));
  const int conns = std::atoi(arg(argc, argv, "--conns", "1").c_str());
  const double seconds = std::atof(arg(argc, argv, "--seconds", "3").c_str());
  const int obx = std::atoi(arg(argc, argv, "--obx", "10").c_str());
  const std::string tag = arg(argc, argv, "--tag", "run");
  const double rate = std::atof(arg(argc, argv, "--rate", "0").c_str());
  // Unique control ids per run, so a durable peer's duplicate detection never kicks in.
  const int base = static_cast<int>(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000);
  std::atomic<int> seq{0};
  std::atomic<long> acked{0};
  std::vector<std::vector<float>> lat(static_cast<std::size_t>(conns));
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  // Open loop: connection c sends at t0 + (c / conns + i) * interval.
  const auto interval = std::chrono::duration<double>(rate > 0 ? conns / rate : 0.0);
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      try {
        phrgate::mllp::MllpClient client;
        client.connect("127.0.0.1", port);
        std::string msg;
        auto next = t0 + std::chrono::duration_cast<Clock::duration>(interval * (static_cast<double>(c) / conns));
        while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
          msg = phrgate::bench::oru_r01(base + seq.fetch_add(1), obx);
          if (rate > 0) std::this_thread::sleep_until(next);
          auto s = rate > 0 ? std::min(Clock::now(), next) : Clock::now();
          std::string ack = client.send(msg);
          lat[static_cast<std::size_t>(c)].push_back(
              std::chrono::duration<float, std::micro>(Clock::now() - s).count());
          next += std::chrono::duration_cast<Clock::duration>(interval);
          if (ack.find("MSA|AA") != std::string::npos || ack.find("MSA|CA") != std::string::npos) acked.fetch_add(1);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "loadgen connection %d: %s\n", c, e.what());
      }
    });
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : static_cast<double>(all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]);
  };
  std::printf("loadgen.%s.msgs_per_s=%.0f\n", tag.c_str(), static_cast<double>(acked.load()) / elapsed);
  std::printf("loadgen.%s.ack_latency_us.p50=%.0f\n", tag.c_str(), pct(0.5));
  std::printf("loadgen.%s.ack_latency_us.p99=%.0f\n", tag.c_str(), pct(0.99));
  std::printf("loadgen.%s.ack_latency_us.p999=%.0f\n", tag.c_str(), pct(0.999));
  std::printf("loadgen.%s.ack_latency_us.max=%.0f\n", tag.c_str(), all.empty() ? 0.0 : static_cast<double>(all.back()));
  std::printf("loadgen.%s.not_acked=%ld\n", tag.c_str(), static_cast<long>(all.size()) - acked.load());
  return 0;
}

int cmd_ack_server(int argc, char** argv) {
  boost::asio::io_context io;
  phrgate::mllp::MllpListenerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = static_cast<uint16_t>(std::atoi(arg(argc, argv, "--port", "0").c_str()));
  o.log_name = "ack-server";
  const std::string ack = "MSH|^~\\&|ACK|ACK|LOADGEN|LOADGEN|20261124000000||ACK^R01^ACK|1|P|2.5.1\rMSA|AA|1\r";
  phrgate::mllp::MllpListener listener(io, o, [&ack](phrgate::mllp::MllpFrame f) { f.responder.respond(ack); });
  listener.start();
  std::printf("ack_server.port=%u\n", listener.port());
  std::fflush(stdout);
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();
  return 0;
}

int cmd_dump(int argc, char** argv) {
  const int count = std::atoi(arg(argc, argv, "--count", "1000").c_str());
  const int obx = std::atoi(arg(argc, argv, "--obx", "10").c_str());
  for (int i = 0; i < count; ++i) {
    std::string m = phrgate::bench::oru_r01(i, obx);
    std::fwrite(m.data(), 1, m.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

int cmd_dump_ccd(int argc, char** argv) {
  const long kb = std::atol(arg(argc, argv, "--kb", "50").c_str());
  const std::string doc = phrgate::bench::ccd_document(static_cast<std::size_t>(kb) * 1024);
  std::fwrite(doc.data(), 1, doc.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "send") return cmd_send(argc, argv);
  if (cmd == "ack-server") return cmd_ack_server(argc, argv);
  if (cmd == "dump") return cmd_dump(argc, argv);
  if (cmd == "dump-ccd") return cmd_dump_ccd(argc, argv);
  std::fputs("usage: phrgate-loadgen send|ack-server|dump|dump-ccd [options] (see the file header)\n", stderr);
  return 2;
}
