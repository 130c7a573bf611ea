// Metrics registry rendered in the Prometheus text format (GET /metrics).
// Counters and histograms are lock-free to update (atomics) and safe from any thread;
// registering a series takes a mutex and returns a reference that stays valid for the
// registry's lifetime. Gauges are callbacks evaluated at scrape time.
// Labels are passed pre-rendered, e.g. `source="emr-adt"`; never put PHI in a label.
// RateTracker (below) turns counters into 1/5/15-minute moving rates for /api/queues.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace phrgate::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }
 private:
  std::atomic<uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;
  // Cumulative count of observations <= bound i (Prometheus "le" buckets).
  std::vector<uint64_t> cumulative() const;
  const std::vector<double>& bounds() const { return bounds_; }
  // Approximate quantile from the buckets (upper bound of the bucket holding it).
  double quantile(double q) const;
 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micro_{0};  // sum in millionths, to stay lock-free
};

// Latency buckets in seconds, from 50 us to 10 s.
std::vector<double> latency_buckets();

class Registry {
 public:
  Counter& counter(std::string_view name, std::string_view help, std::string_view labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::string_view labels = {},
                       std::vector<double> bounds = latency_buckets());
  void gauge(std::string_view name, std::string_view help, std::string_view labels,
             std::function<double()> read);
  std::string render() const;

 private:
  enum class Kind { Counter, Gauge, Histogram };
  struct Series {
    std::string labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> gauge;
  };
  struct Family {
    std::string name;
    std::string help;
    Kind kind;
    std::vector<std::unique_ptr<Series>> series;
  };
  Family& family(std::string_view name, std::string_view help, Kind kind);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Moving rates of cumulative counters, like the load averages: every tick samples each
// tracked counter, turns the increase since the last tick into a per-second rate and folds
// it into exponentially-weighted averages over 1, 5 and 15 minutes
// (avg += (1 - exp(-dt / window)) * (rate - avg)). Averages start at 0 and approach a steady
// rate with the window's time constant. A counter that goes down (restart) is re-based.
// tick() takes the time explicitly so tests drive the clock; start() ticks from a thread.
struct MovingRates {
  double per_s_1m = 0, per_s_5m = 0, per_s_15m = 0;
  int64_t total = 0;  // the counter's value at the last tick
};

class RateTracker {
 public:
  using Clock = std::chrono::steady_clock;
  RateTracker() = default;
  ~RateTracker();  // stops the ticking thread
  RateTracker(const RateTracker&) = delete;
  RateTracker& operator=(const RateTracker&) = delete;

  // Tracks `read_total` (a cumulative count) under `key`, e.g. "source/emr/in". Re-tracking a
  // key replaces its reader. Thread-safe.
  void track(std::string key, std::function<int64_t()> read_total);
  // Samples every tracked counter at `now`. The first tick of a key only records its base.
  void tick(Clock::time_point now);
  // Current averages of `key` (all 0 before two ticks); nullopt for an unknown key.
  std::optional<MovingRates> rates(std::string_view key) const;
  std::vector<std::string> keys() const;

  // Ticks every `interval` on a background thread until stop() (or destruction).
  void start(std::chrono::milliseconds interval = std::chrono::seconds(5));
  void stop();

 private:
  struct Series {
    std::function<int64_t()> read_total;
    MovingRates rates;
    bool based = false;
  };
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Series>> series_;
  std::optional<Clock::time_point> last_tick_;
  std::mutex thread_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace phrgate::metrics
