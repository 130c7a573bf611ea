// Crash test: SIGKILL the daemon while several connections stream messages, restart it on
// the same data directory, and show that every message acknowledged AA is in the store
// exactly once (and that nothing unacknowledged was invented). Bounded: a few seconds.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;

namespace {
const std::string kToken = "crash-secret-token-0123456789";

// Every DiagnosticReport identifier value in the person's records, following paging.
std::multiset<std::string> report_identifiers(uint16_t port, const std::string& patient_id) {
  std::multiset<std::string> out;
  std::string target = "/fhir/DiagnosticReport?patient=" + patient_id + "&_count=1000";
  for (int page = 0; page < 1000 && !target.empty(); ++page) {
    auto b = get_json(port, target, kToken);
    if (b.HasMember("entry"))
      for (const auto& e : b["entry"].GetArray())
        for (const auto& id : e["resource"]["identifier"].GetArray())
          if (id.HasMember("value") && std::string(id["value"].GetString()).rfind("F", 0) == 0)
            out.insert(id["value"].GetString());
    target.clear();
    if (b.HasMember("link"))
      for (const auto& l : b["link"].GetArray())
        if (std::string(l["relation"].GetString()) == "next") target = l["url"].GetString();
    auto fhir = target.find("/fhir/");
    if (fhir != std::string::npos) target = target.substr(fhir);
  }
  return out;
}
}  // namespace

TEST_CASE("crash: every message acknowledged AA survives SIGKILL exactly once", "[e2e][fault]") {
  for (int round = 0; round < 2; ++round) {
    DYNAMIC_SECTION("kill round " << round) {
      TempDir dir;
      DaemonProcess daemon(dir.path(), basic_config(dir.path(), kToken));
      daemon.start();
      const uint16_t port = daemon.source_port("emr");

      std::mutex mutex;
      std::set<std::string> acked;   // filler numbers whose message got AA
      std::set<std::string> sent;    // every filler number put on the wire
      std::atomic<bool> stop{false};
      std::vector<std::thread> senders;
      for (int t = 0; t < 4; ++t) {
        senders.emplace_back([&, t] {
          try {
            phrgate::mllp::MllpClient client;
            client.connect("127.0.0.1", port);
            for (int i = 0; !stop && i < 100000; ++i) {
              std::string filler = "F" + std::to_string(t) + "-" + std::to_string(i);
              {
                std::lock_guard lock(mutex);
                sent.insert(filler);
              }
              std::string ack = client.send(oru_message("C" + filler, "CRASH-1", filler, std::to_string(i % 300)));
              if (segment_field(ack, "MSA", 1) == "AA") {
                std::lock_guard lock(mutex);
                acked.insert(filler);
              }
            }
          } catch (const std::exception&) {
            // The daemon died under us: expected.
          }
        });
      }
      // Let messages flow, then kill at a point that differs between rounds.
      std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 700 : 1300));
      daemon.kill9();
      stop = true;
      for (auto& t : senders) t.join();
      REQUIRE(acked.size() > 50);  // the test is meaningless without traffic

      daemon.start();
      wait_pipeline_idle(daemon.http_port(), kToken, std::chrono::seconds(60));
      auto p = get_json(daemon.http_port(), "/fhir/Patient?identifier=CRASH-1", kToken);
      REQUIRE(p["total"].GetInt() == 1);
      auto stored = report_identifiers(daemon.http_port(), p["entry"][0]["resource"]["id"].GetString());

      std::size_t missing = 0, duplicated = 0, invented = 0;
      for (const auto& f : acked)
        if (stored.count(f) == 0) ++missing;
      for (const auto& f : stored) {
        if (stored.count(f) > 1) ++duplicated;
        if (sent.count(f) == 0) ++invented;
      }
      INFO("acked=" << acked.size() << " stored=" << stored.size());
      CHECK(missing == 0);
      CHECK(duplicated == 0);
      CHECK(invented == 0);
      CHECK(stored.size() >= acked.size());
      CHECK(daemon.stop() == 0);
    }
  }
}
