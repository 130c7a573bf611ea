// Metrics registry rendered in the Prometheus text format (GET /metrics).
// Counters and histograms are lock-free to update (atomics) and safe from any thread;
// registering a series takes a mutex and returns a reference that stays valid for the
// registry's lifetime. Gauges are callbacks evaluated at scrape time.
// Labels are passed pre-rendered, e.g. `source="emr-adt"`; never put PHI in a label.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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

}  // namespace phrgate::metrics
