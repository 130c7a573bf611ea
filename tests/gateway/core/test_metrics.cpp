// Metrics registry: Prometheus text rendering of counters, gauges and histograms.
#include <catch2/catch.hpp>

#include <thread>

#include "gateway/core/metrics.h"

using phrgate::metrics::Registry;

TEST_CASE("counters, gauges and histograms render in Prometheus text format") {
  Registry r;
  auto& a = r.counter("phrgate_test_total", "A test counter", "source=\"a\"");
  auto& b = r.counter("phrgate_test_total", "A test counter", "source=\"b\"");
  CHECK(&a == &r.counter("phrgate_test_total", "A test counter", "source=\"a\""));
  a.inc();
  a.inc(2);
  b.inc();
  double depth = 7;
  r.gauge("phrgate_depth", "Depth", "", [&] { return depth; });
  auto& h = r.histogram("phrgate_latency_seconds", "Latency", "", {0.001, 0.01, 0.1});
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(0.05);
  h.observe(5);
  std::string text = r.render();
  CHECK(text.find("# TYPE phrgate_test_total counter") != std::string::npos);
  CHECK(text.find("phrgate_test_total{source=\"a\"} 3\n") != std::string::npos);
  CHECK(text.find("phrgate_test_total{source=\"b\"} 1\n") != std::string::npos);
  CHECK(text.find("phrgate_depth 7\n") != std::string::npos);
  CHECK(text.find("phrgate_latency_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
  CHECK(text.find("phrgate_latency_seconds_bucket{le=\"0.01\"} 2\n") != std::string::npos);
  CHECK(text.find("phrgate_latency_seconds_bucket{le=\"0.1\"} 3\n") != std::string::npos);
  CHECK(text.find("phrgate_latency_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(text.find("phrgate_latency_seconds_count 4\n") != std::string::npos);
  CHECK(h.quantile(0.5) == Approx(0.01));
  depth = 9;
  CHECK(r.render().find("phrgate_depth 9\n") != std::string::npos);
}

TEST_CASE("a metric name cannot change kind, and counters are safe across threads") {
  Registry r;
  r.counter("phrgate_x", "x");
  CHECK_THROWS(r.histogram("phrgate_x", "x"));
  auto& c = r.counter("phrgate_threads_total", "t");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 10000; ++k) c.inc();
    });
  for (auto& t : ts) t.join();
  CHECK(c.value() == 40000);
}
