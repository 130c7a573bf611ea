// RateTracker: 1/5/15-minute exponentially-weighted rates of cumulative counters, driven by
// an injected clock (tick(time)), checked against the closed-form averages.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>

#include "gateway/core/metrics.h"

using phrgate::metrics::RateTracker;
using namespace std::chrono_literals;

TEST_CASE("rates: one tick folds the per-second rate in with weight 1 - exp(-dt/window)") {
  RateTracker rates;
  int64_t total = 0;
  rates.track("source/emr/in", [&] { return total; });
  auto t0 = RateTracker::Clock::time_point{} + 1000s;
  rates.tick(t0);  // base
  REQUIRE(rates.rates("source/emr/in")->per_s_1m == 0);
  total = 50;      // 50 messages in 5 s: 10/s
  rates.tick(t0 + 5s);
  auto r = *rates.rates("source/emr/in");
  CHECK(r.total == 50);
  CHECK(r.per_s_1m == Approx(10 * (1 - std::exp(-5.0 / 60))));
  CHECK(r.per_s_5m == Approx(10 * (1 - std::exp(-5.0 / 300))));
  CHECK(r.per_s_15m == Approx(10 * (1 - std::exp(-5.0 / 900))));
  CHECK_FALSE(rates.rates("unknown"));
}

TEST_CASE("rates: a steady rate is approached by every window; silence decays them") {
  RateTracker rates;
  int64_t total = 0;
  rates.track("sink/phr/out", [&] { return total; });
  auto t = RateTracker::Clock::time_point{};
  rates.tick(t);
  for (int i = 0; i < 12 * 120; ++i) {  // two hours at 4/s, ticked every 5 s
    total += 20;
    t += 5s;
    rates.tick(t);
  }
  auto r = *rates.rates("sink/phr/out");
  CHECK(r.per_s_1m == Approx(4).epsilon(1e-6));
  CHECK(r.per_s_5m == Approx(4).epsilon(1e-6));
  CHECK(r.per_s_15m == Approx(4).epsilon(1e-3));

  // Fifteen silent minutes: the 1-minute average is e^-15 of the rate, the 15-minute e^-1.
  for (int i = 0; i < 12 * 15; ++i) {
    t += 5s;
    rates.tick(t);
  }
  r = *rates.rates("sink/phr/out");
  CHECK(r.per_s_1m == Approx(4 * std::exp(-15.0)).margin(1e-6));
  CHECK(r.per_s_5m == Approx(4 * std::exp(-3.0)).epsilon(1e-3));
  CHECK(r.per_s_15m == Approx(4 * std::exp(-1.0)).epsilon(1e-2));
}

TEST_CASE("rates: uneven ticks weigh by elapsed time; a counter reset re-bases; equal times are ignored") {
  RateTracker a, b;
  int64_t total_a = 0, total_b = 0;
  a.track("k", [&] { return total_a; });
  b.track("k", [&] { return total_b; });
  auto t = RateTracker::Clock::time_point{};
  a.tick(t);
  b.tick(t);
  // a: one 10 s step at 3/s; b: two 5 s steps at 3/s. Both end at the same averages.
  total_a = 30;
  a.tick(t + 10s);
  total_b = 15;
  b.tick(t + 5s);
  total_b = 30;
  b.tick(t + 10s);
  CHECK(a.rates("k")->per_s_1m == Approx(b.rates("k")->per_s_1m));
  CHECK(a.rates("k")->per_s_15m == Approx(b.rates("k")->per_s_15m));

  const double before = a.rates("k")->per_s_1m;
  a.tick(t + 10s);  // no time passed
  CHECK(a.rates("k")->per_s_1m == before);
  total_a = 5;      // the counter restarted: no negative rate, just a new base
  a.tick(t + 15s);
  CHECK(a.rates("k")->per_s_1m == before);
  CHECK(a.rates("k")->total == 5);
}

TEST_CASE("rates: start() ticks from its own thread until stop()") {
  RateTracker rates;
  std::atomic<int> reads{0};
  rates.track("k", [&] { return static_cast<int64_t>(++reads); });
  rates.start(5ms);
  while (reads.load() < 3) std::this_thread::sleep_for(1ms);
  rates.stop();
  const int after_stop = reads.load();
  std::this_thread::sleep_for(20ms);
  CHECK(reads.load() == after_stop);
  CHECK(rates.keys() == std::vector<std::string>{"k"});
}
