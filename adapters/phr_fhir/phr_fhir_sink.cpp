// Implementation of the phr_fhir sink (see phr_fhir_sink.h): deliver() builds one transaction
// Bundle per message and commits them to the outbox in one SQLite transaction; worker threads
// take the head Bundle of a person not already in flight, POST it, and then delete it (2xx),
// dead-letter it (permanent 4xx, or max_attempts reached) or reschedule it with backoff.
// Metrics gauges hold a weak reference, so a scrape after the sink is gone reads 0.
#include "adapters/phr_fhir/phr_fhir_sink.h"

#include <condition_variable>
#include <random>
#include <thread>

#include <rapidjson/document.h>

#include "adapters/phr_fhir/transaction_bundle.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"

namespace phrgate::phr_fhir {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "HTTP 422 (processing)": the status and the first OperationOutcome issue code, no free text.
std::string rejection_reason(const fhir_client::HttpResult& r) {
  std::string reason = "HTTP " + std::to_string(r.status);
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("issue") && doc["issue"].IsArray() &&
      !doc["issue"].Empty() && doc["issue"][0].IsObject() && doc["issue"][0].HasMember("code") &&
      doc["issue"][0]["code"].IsString())
    reason += std::string(" (") + doc["issue"][0]["code"].GetString() + ")";
  return reason;
}

// The person's Patient from the embedded store, as a converter resource (identifiers parsed).
std::optional<store::FhirResource> stored_patient(store::PhrStore& store, const std::string& person_id) {
  auto found = store.read("Patient", person_id);
  if (!found) return std::nullopt;
  store::FhirResource r;
  r.type = "Patient";
  r.id = found->id;
  r.person_id = person_id;
  r.json = found->json;
  r.only_if_absent = true;
  rapidjson::Document doc;
  doc.Parse(r.json.data(), r.json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  if (auto it = doc.FindMember("identifier"); it != doc.MemberEnd() && it->value.IsArray())
    for (const auto& id : it->value.GetArray())
      if (id.IsObject() && id.HasMember("system") && id.HasMember("value") && id["system"].IsString() &&
          id["value"].IsString())
        r.identifiers.emplace_back(id["system"].GetString(), id["value"].GetString());
  return r;
}

// <data_dir> for the default outbox path, once SinkDeps carries it (empty until then).
template <class Deps>
std::string data_dir_of(const Deps& deps) {
  if constexpr (requires { deps.data_dir; }) return deps.data_dir;
  else return {};
}

}  // namespace

struct PhrFhirSink::Impl {
  std::string name;
  PhrFhirOptions options;
  store::PhrStore* store;
  fhir_client::FhirHttpClient client;
  FhirOutbox outbox;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::set<std::string> busy;  // persons with a Bundle in flight
  int in_flight = 0;
  bool stopping = false;
  std::vector<std::thread> workers;

  metrics::Counter* enqueued;
  metrics::Counter* attempts;
  metrics::Counter* retries;
  metrics::Counter* dead_lettered;
  metrics::Counter* delivered;

  Impl(std::string n, PhrFhirOptions o, store::PhrStore* s, metrics::Registry& m)
      : name(std::move(n)), options(std::move(o)), store(s), client(options.client), outbox(options.outbox_path) {
    std::string labels = "sink=\"" + name + "\"";
    enqueued = &m.counter("phrgate_sink_delivered_total", "Messages delivered per sink", labels);
    attempts = &m.counter("phrgate_phr_fhir_attempts_total", "Transaction Bundles sent to the destination", labels);
    retries = &m.counter("phrgate_phr_fhir_retries_total", "Sends that failed and were rescheduled", labels);
    dead_lettered = &m.counter("phrgate_phr_fhir_dead_letters_total", "Bundles moved to the dead-letter state", labels);
    delivered = &m.counter("phrgate_phr_fhir_confirmed_total", "Bundles the destination confirmed (2xx)", labels);
  }

  int64_t backoff_ms(int attempt) {
    thread_local std::mt19937_64 rng(std::random_device{}());
    int64_t base = options.backoff_base.count();
    int64_t cap = options.backoff_cap.count();
    int64_t delay = base;
    for (int i = 1; i < attempt && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);  // "equal jitter"
    return std::max<int64_t>(1, jitter(rng));
  }

  void send(const OutboxItem& item) {
    attempts->inc();
    auto r = client.post_bundle(item.bundle);
    std::string seq = std::to_string(item.seq);
    if (r.ok()) {
      outbox.remove(item.seq);
      delivered->inc();
      log::debug("phr_fhir.confirmed", {{"sink", name}, {"seq", seq}, {"control_id", item.control_id}});
      return;
    }
    int attempt = item.attempts + 1;
    if (r.status != 0 && is_permanent_rejection(r.status)) {
      std::string reason = rejection_reason(r);
      outbox.dead_letter(item.seq, reason);
      dead_lettered->inc();
      log::warn("phr_fhir.dead_letter", {{"sink", name}, {"seq", seq}, {"control_id", item.control_id}, {"reason", reason}});
      return;
    }
    std::string error = r.status != 0 ? "HTTP " + std::to_string(r.status) : r.error;
    if (options.max_attempts > 0 && attempt >= options.max_attempts) {
      outbox.dead_letter(item.seq, "gave up after " + std::to_string(attempt) + " attempts: " + error);
      dead_lettered->inc();
      log::warn("phr_fhir.dead_letter", {{"sink", name}, {"seq", seq}, {"control_id", item.control_id}, {"reason", error}});
      return;
    }
    int64_t delay = backoff_ms(attempt);
    if (r.retry_after) delay = std::max<int64_t>(delay, std::min<int64_t>(r.retry_after->count(), 3600) * 1000);
    outbox.schedule_retry(item.seq, now_ms() + delay, error);
    retries->inc();
    log::info("phr_fhir.retry", {{"sink", name}, {"seq", seq}, {"attempt", std::to_string(attempt)},
                                 {"delay_ms", std::to_string(delay)}, {"error", error}});
  }

  void work() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      std::vector<OutboxItem> ready;
      try {
        ready = outbox.ready_heads(now_ms(), busy, 1);
      } catch (const std::exception& e) {
        log::error("phr_fhir.outbox", {{"sink", name}, {"error", e.what()}});
      }
      if (ready.empty()) {
        int64_t due = 0;
        try {
          due = outbox.next_due_ms(busy);
        } catch (const std::exception&) {
        }
        int64_t wait = due == 0 ? 1000 : std::clamp<int64_t>(due - now_ms(), 1, 1000);
        changed.wait_for(lock, std::chrono::milliseconds(wait));
        continue;
      }
      OutboxItem item = std::move(ready.front());
      busy.insert(item.person_id);
      ++in_flight;
      lock.unlock();
      try {
        send(item);
      } catch (const std::exception& e) {  // the outbox update failed: the row stays, sent again later
        log::error("phr_fhir.send", {{"sink", name}, {"error", e.what()}});
      }
      lock.lock();
      busy.erase(item.person_id);
      --in_flight;
      changed.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    client.cancel();  // in-flight sends end now; their rows stay in the outbox
    changed.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }
};

PhrFhirSink::PhrFhirSink(std::string name, PhrFhirOptions options, store::PhrStore* store, metrics::Registry& metrics)
    : impl_(std::make_shared<Impl>(std::move(name), std::move(options), store, metrics)) {
  std::string labels = "sink=\"" + impl_->name + "\"";
  std::weak_ptr<Impl> weak = impl_;
  metrics.gauge("phrgate_phr_fhir_queue_depth", "Bundles waiting in the outbox", labels, [weak] {
    auto s = weak.lock();
    return s ? static_cast<double>(s->outbox.counts().pending) : 0.0;
  });
  metrics.gauge("phrgate_phr_fhir_oldest_age_seconds", "Age of the oldest waiting Bundle", labels, [weak] {
    auto s = weak.lock();
    if (!s) return 0.0;
    auto c = s->outbox.counts();
    return c.oldest_pending_created_ms == 0 ? 0.0 : static_cast<double>(now_ms() - c.oldest_pending_created_ms) / 1000.0;
  });
  metrics.gauge("phrgate_phr_fhir_dead_letters", "Bundles in the dead-letter state", labels, [weak] {
    auto s = weak.lock();
    return s ? static_cast<double>(s->outbox.counts().dead) : 0.0;
  });
  for (int i = 0; i < impl_->options.parallel_persons; ++i) impl_->workers.emplace_back([impl = impl_.get()] { impl->work(); });
}

PhrFhirSink::~PhrFhirSink() { impl_->stop(); }

const std::string& PhrFhirSink::name() const { return impl_->name; }

std::vector<pipeline::DeliveryOutcome> PhrFhirSink::deliver(const std::vector<pipeline::Delivery>& batch) {
  std::vector<NewOutboxItem> items;
  try {
    for (const auto& d : batch) {
      if (!d.resources || d.resources->empty()) continue;
      std::optional<store::FhirResource> patient;
      const std::string person = d.person_id ? *d.person_id : std::string();
      if (impl_->options.add_person_patient && impl_->store && !person.empty()) {
        bool has = false;
        for (const auto& r : *d.resources) has = has || (r.type == "Patient" && r.id == person);
        if (!has) patient = stored_patient(*impl_->store, person);
      }
      auto bundle = build_transaction_bundle(*d.resources, patient ? &*patient : nullptr);
      items.push_back({person, d.control_id ? *d.control_id : std::string(), std::move(bundle.json)});
    }
    impl_->outbox.append(items, now_ms());
  } catch (const std::exception& e) {
    log::error("phr_fhir.enqueue_failed", {{"sink", impl_->name}, {"error", e.what()}});
    return std::vector<pipeline::DeliveryOutcome>(batch.size(), {pipeline::DeliveryStatus::Retry, e.what()});
  }
  impl_->enqueued->inc(batch.size());
  impl_->changed.notify_all();
  return std::vector<pipeline::DeliveryOutcome>(batch.size(), {pipeline::DeliveryStatus::Delivered, {}});
}

pipeline::SinkStatus PhrFhirSink::status() const {
  auto c = impl_->outbox.counts();
  int64_t in_flight;
  {
    std::lock_guard lock(impl_->mutex);
    in_flight = impl_->in_flight;
  }
  int64_t oldest = c.oldest_pending_created_ms == 0 ? 0 : (now_ms() - c.oldest_pending_created_ms) / 1000;
  return {impl_->name, "phr_fhir",
          {{"queued", c.pending},
           {"in_flight", in_flight},
           {"oldest_age_s", oldest},
           {"dead_letters", c.dead},
           {"enqueued", static_cast<int64_t>(impl_->enqueued->value())},
           {"attempts", static_cast<int64_t>(impl_->attempts->value())},
           {"retries", static_cast<int64_t>(impl_->retries->value())},
           {"confirmed", static_cast<int64_t>(impl_->delivered->value())},
           {"tokens_fetched", impl_->client.tokens_fetched()}}};
}

OutboxCounts PhrFhirSink::outbox_counts() const { return impl_->outbox.counts(); }
std::vector<DeadLetter> PhrFhirSink::dead_letters() const { return impl_->outbox.dead_letters(); }

bool PhrFhirSink::wait_drained(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->mutex);
  while (true) {
    if (impl_->in_flight == 0 && impl_->outbox.counts().pending == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    impl_->changed.wait_for(lock, std::chrono::milliseconds(50));
  }
}

std::unique_ptr<pipeline::Sink> make_phr_fhir_sink(const config::AdapterConfig& config, pipeline::SinkDeps& deps) {
  std::string data_dir = data_dir_of(deps);
  return std::make_unique<PhrFhirSink>(config.name, parse_phr_fhir_options(config, data_dir), &deps.store, deps.metrics);
}

void register_phr_fhir(pipeline::Registry& registry) { registry.add_sink({"phr_fhir", make_phr_fhir_sink}); }

}  // namespace phrgate::phr_fhir
