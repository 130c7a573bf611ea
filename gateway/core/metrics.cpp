// Implementation of the metrics registry (see metrics.h).
#include "gateway/core/metrics.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace phrgate::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0) sum_micro_.fetch_add(static_cast<uint64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

double Histogram::sum() const { return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6; }

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double Histogram::quantile(double q) const {
  auto cum = cumulative();
  uint64_t total = cum.back();
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (cum[i] >= rank) return bounds_[i];
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind) {
  for (auto& f : families_)
    if (f->name == name) {
      if (f->kind != kind) throw std::logic_error("metric registered twice with different kinds");
      return *f;
    }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->kind = kind;
  families_.push_back(std::move(f));
  return *families_.back();
}

Counter& Registry::counter(std::string_view name, std::string_view help, std::string_view labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, help, Kind::Counter);
  for (auto& s : f.series)
    if (s->labels == labels) return *s->counter;
  auto s = std::make_unique<Series>();
  s->labels = std::string(labels);
  s->counter = std::make_unique<Counter>();
  f.series.push_back(std::move(s));
  return *f.series.back()->counter;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, std::string_view labels,
                               std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, help, Kind::Histogram);
  for (auto& s : f.series)
    if (s->labels == labels) return *s->histogram;
  auto s = std::make_unique<Series>();
  s->labels = std::string(labels);
  s->histogram = std::make_unique<Histogram>(std::move(bounds));
  f.series.push_back(std::move(s));
  return *f.series.back()->histogram;
}

void Registry::gauge(std::string_view name, std::string_view help, std::string_view labels,
                     std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, help, Kind::Gauge);
  for (auto& s : f.series)
    if (s->labels == labels) { s->gauge = std::move(read); return; }
  auto s = std::make_unique<Series>();
  s->labels = std::string(labels);
  s->gauge = std::move(read);
  f.series.push_back(std::move(s));
}

namespace {
void append_number(std::string& out, double v) {
  char buf[64];
  if (std::floor(v) == v && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.9g", v);
  out += buf;
}
void append_series(std::string& out, const std::string& name, std::string_view labels, std::string_view extra = {}) {
  out += name;
  if (!labels.empty() || !extra.empty()) {
    out.push_back('{');
    out += labels;
    if (!labels.empty() && !extra.empty()) out.push_back(',');
    out += extra;
    out.push_back('}');
  }
  out.push_back(' ');
}
}  // namespace

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(4096);
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + f->help + "\n# TYPE " + f->name + " ";
    out += f->kind == Kind::Counter ? "counter\n" : f->kind == Kind::Gauge ? "gauge\n" : "histogram\n";
    for (const auto& s : f->series) {
      switch (f->kind) {
        case Kind::Counter:
          append_series(out, f->name, s->labels);
          append_number(out, static_cast<double>(s->counter->value()));
          out.push_back('\n');
          break;
        case Kind::Gauge:
          append_series(out, f->name, s->labels);
          append_number(out, s->gauge ? s->gauge() : 0);
          out.push_back('\n');
          break;
        case Kind::Histogram: {
          auto cum = s->histogram->cumulative();
          const auto& bounds = s->histogram->bounds();
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            std::string le = "le=\"";
            if (i < bounds.size()) {
              char buf[32];
              std::snprintf(buf, sizeof buf, "%g", bounds[i]);
              le += buf;
            } else {
              le += "+Inf";
            }
            le += "\"";
            append_series(out, f->name + "_bucket", s->labels, le);
            append_number(out, static_cast<double>(cum[i]));
            out.push_back('\n');
          }
          append_series(out, f->name + "_sum", s->labels);
          append_number(out, s->histogram->sum());
          out.push_back('\n');
          append_series(out, f->name + "_count", s->labels);
          append_number(out, static_cast<double>(s->histogram->count()));
          out.push_back('\n');
          break;
        }
      }
    }
  }
  return out;
}

RateTracker::~RateTracker() { stop(); }

void RateTracker::track(std::string key, std::function<int64_t()> read_total) {
  std::lock_guard lock(mutex_);
  for (auto& [k, s] : series_)
    if (k == key) {
      s.read_total = std::move(read_total);
      s.based = false;
      return;
    }
  series_.emplace_back(std::move(key), Series{std::move(read_total), {}, false});
}

void RateTracker::tick(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  double dt = last_tick_ ? std::chrono::duration<double>(now - *last_tick_).count() : 0;
  if (last_tick_ && dt <= 0) return;  // same instant (or a clock step back): nothing to fold in
  last_tick_ = now;
  const double decay_1m = std::exp(-dt / 60), decay_5m = std::exp(-dt / 300), decay_15m = std::exp(-dt / 900);
  for (auto& [key, s] : series_) {
    const int64_t total = s.read_total ? s.read_total() : 0;
    if (!s.based || total < s.rates.total || dt <= 0) {
      s.rates.total = total;
      s.based = true;
      continue;
    }
    const double rate = static_cast<double>(total - s.rates.total) / dt;
    s.rates.total = total;
    s.rates.per_s_1m = rate + decay_1m * (s.rates.per_s_1m - rate);
    s.rates.per_s_5m = rate + decay_5m * (s.rates.per_s_5m - rate);
    s.rates.per_s_15m = rate + decay_15m * (s.rates.per_s_15m - rate);
  }
}

std::optional<MovingRates> RateTracker::rates(std::string_view key) const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, s] : series_)
    if (k == key) return s.rates;
  return std::nullopt;
}

std::vector<std::string> RateTracker::keys() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [k, s] : series_) out.push_back(k);
  return out;
}

void RateTracker::start(std::chrono::milliseconds interval) {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  tick(Clock::now());
  thread_ = std::thread([this, interval] {
    std::unique_lock lk(thread_mutex_);
    while (!wake_.wait_for(lk, interval, [this] { return stopping_; })) {
      lk.unlock();
      tick(Clock::now());
      lk.lock();
    }
  });
}

void RateTracker::stop() {
  std::thread t;
  {
    std::lock_guard lock(thread_mutex_);
    stopping_ = true;
    t = std::move(thread_);
  }
  wake_.notify_all();
  if (t.joinable()) t.join();
}

}  // namespace phrgate::metrics
