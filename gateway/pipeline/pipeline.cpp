// Implementation of the pipeline worker (see pipeline.h).
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/person_resolver.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/mapping/code_map.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/queue/inbox.h"

namespace phrgate::pipeline {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `source="<name>"` with the Prometheus label escapes.
std::string source_label(std::string_view source) {
  std::string out = "source=\"";
  for (char ch : source) {
    if (ch == '\\' || ch == '"') out.push_back('\\');
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

queue::DeliveryVerdict to_verdict(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::Delivered: return queue::DeliveryVerdict::Delivered;
    case DeliveryStatus::Retry: return queue::DeliveryVerdict::Retry;
    case DeliveryStatus::Reject: return queue::DeliveryVerdict::Reject;
  }
  return queue::DeliveryVerdict::Retry;
}

// For the message browser: the converted Patients' identifiers and every resource's "Type/id".
void describe_conversion(const std::vector<ConvertedMessage>& messages, queue::Completion& c) {
  for (const auto& m : messages)
    for (const auto& r : m.resources) {
      c.resources.push_back(r.type + "/" + r.id);
      if (r.type == "Patient")
        for (const auto& ident : r.identifiers) c.patient_identifiers.push_back(ident);
    }
}

constexpr std::string_view kUnmappedMetric = "phrgate_unmapped_codes_total";
constexpr std::string_view kUnmappedHelp = "Coded values converted without a mapping row (see GET /api/unmapped)";

}  // namespace

struct Pipeline::Counters {
  metrics::Counter& converted;
  metrics::Counter& failed;
  metrics::Counter& retried;
  metrics::Histogram& convert_latency;
  metrics::Histogram& deliver_latency;
};

Pipeline::Pipeline(queue::Inbox& inbox, const Registry& registry, std::vector<Sink*> sinks,
                   std::map<std::string, ConvertSettings> settings_by_source,
                   std::shared_ptr<const mapping::CodeMaps> code_maps, metrics::Registry& metrics,
                   PipelineOptions options)
    : inbox_(inbox),
      registry_(registry),
      sinks_(std::move(sinks)),
      settings_by_source_(std::move(settings_by_source)),
      code_maps_(std::move(code_maps)),
      options_(options),
      metrics_(metrics),
      counters_(new Counters{
          metrics.counter("phrgate_pipeline_messages_processed_total", "Inbox rows converted and delivered to every sink"),
          metrics.counter("phrgate_pipeline_messages_failed_total", "Inbox rows that failed conversion or were rejected by a sink"),
          metrics.counter("phrgate_pipeline_messages_retried_total", "Inbox rows handed back for a later retry"),
          metrics.histogram("phrgate_conversion_seconds", "Time to convert one message to FHIR R4"),
          metrics.histogram("phrgate_delivery_seconds", "Time for the sinks to take one batch")}),
      unmapped_(std::make_unique<mapping::UnmappedCodeCollector>()) {
  for (const auto& [source, settings] : settings_by_source_)
    unmapped_counters_[source] = &metrics_.counter(kUnmappedMetric, kUnmappedHelp, source_label(source));
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Pipeline::stop() {
  stopping_ = true;
  notify();
  if (thread_.joinable()) thread_.join();
}

void Pipeline::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Pipeline::set_code_maps(std::shared_ptr<const mapping::CodeMaps> maps) {
  std::lock_guard lock(maps_mutex_);
  code_maps_ = std::move(maps);
}

void Pipeline::run() {
  pthread_setname_np(pthread_self(), "pipeline");  // named for top -H and perf
  if (options_.worker_nice != 0) {
    // Linux: a thread id names one thread here, so only the worker's priority changes.
    auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    if (::setpriority(PRIO_PROCESS, tid, ::getpriority(PRIO_PROCESS, tid) + options_.worker_nice) != 0)
      log::warn("pipeline.nice_failed", {{"nice", std::to_string(options_.worker_nice)}});
  }
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    std::size_t n = 0;
    try {
      n = process_batch();
    } catch (const std::exception& e) {
      // The inbox or store failed (disk full, I/O error): rows stay pending; back off.
      log::error("pipeline.batch_failed", {{"error", e.what()}});
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.retry_delay, [this] { return stopping_.load(); });
      continue;
    }
    if (n == 0) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.idle_poll, [this] { return notified_ || stopping_.load(); });
      notified_ = false;
    } else if (n < options_.batch_size && options_.busy_batch_interval.count() > 0) {
      // More rows are probably arriving (we just had some): let them gather.
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, started + options_.busy_batch_interval, [this] { return stopping_.load(); });
      notified_ = false;
    }
  }
}

std::size_t Pipeline::run_until_idle() {
  std::size_t total = 0;
  for (;;) {
    std::size_t n = process_batch();
    if (n == 0) return total;
    total += n;
  }
}

Pipeline::Conversion Pipeline::convert(const std::string& source, const std::string& content_type,
                                       std::string_view payload, const mapping::CodeMaps* maps,
                                       mapping::UnmappedCodeSink* unmapped) {
  Conversion out;
  const ConverterEntry* conv = registry_.converter(content_type);
  if (!conv) {
    out.error = "no converter for content type " + content_type;
    return out;
  }
  ConvertInput in;
  in.payload = payload;
  in.source = source;
  if (auto it = settings_by_source_.find(source); it != settings_by_source_.end()) in.settings = it->second;
  in.code_maps = maps;
  in.unmapped = unmapped;
  auto t0 = std::chrono::steady_clock::now();
  try {
    out.messages = conv->convert(in);
  } catch (const std::exception& e) {
    out.error = std::string("converter error: ") + e.what();
  }
  counters_->convert_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (const auto& m : out.messages)
    if (!m.ok && out.error.empty()) out.error = m.error;
  if (out.messages.empty() && out.error.empty()) out.error = "nothing to convert";
  return out;
}

void Pipeline::deliver(const std::vector<Delivery>& batch, const std::vector<std::size_t>& owner,
                       std::vector<DeliveryStatus>& verdict, std::vector<std::string>& reason,
                       std::vector<queue::DeliveryAttempt>* attempts) {
  if (batch.empty()) return;
  std::lock_guard lock(deliver_mutex_);
  auto t0 = std::chrono::steady_clock::now();
  for (Sink* sink : sinks_) {
    std::vector<DeliveryOutcome> outcomes;
    try {
      outcomes = sink->deliver(batch);
    } catch (const std::exception& e) {
      log::error("pipeline.sink_failed", {{"sink", sink->name()}, {"error", e.what()}});
      outcomes.assign(batch.size(), DeliveryOutcome{DeliveryStatus::Retry, e.what()});
    }
    if (outcomes.size() != batch.size())
      outcomes.resize(batch.size(), DeliveryOutcome{DeliveryStatus::Retry, "sink returned too few outcomes"});
    // This sink's worst outcome per row (first Delivered, then any Retry, any Reject wins).
    std::vector<const DeliveryOutcome*> per_row(attempts ? verdict.size() : 0, nullptr);
    std::vector<int64_t> row_id(per_row.size(), 0);
    for (std::size_t d = 0; d < batch.size(); ++d) {
      auto i = owner[d];
      const auto& o = outcomes[d];
      if (attempts) {
        const DeliveryOutcome*& worst = per_row[i];
        row_id[i] = batch[d].inbox_id;
        if (!worst || static_cast<int>(o.status) > static_cast<int>(worst->status)) worst = &o;
      }
      if (o.status == DeliveryStatus::Reject && verdict[i] != DeliveryStatus::Reject) {
        verdict[i] = DeliveryStatus::Reject;
        reason[i] = sink->name() + ": " + o.error;
      } else if (o.status == DeliveryStatus::Retry && verdict[i] == DeliveryStatus::Delivered) {
        verdict[i] = DeliveryStatus::Retry;
        reason[i] = sink->name() + ": " + o.error;
      }
    }
    const int64_t at = now_ms();
    for (std::size_t i = 0; i < per_row.size(); ++i)
      if (per_row[i])
        attempts->push_back({row_id[i], sink->name(), at, to_verdict(per_row[i]->status), per_row[i]->error});
  }
  counters_->deliver_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void Pipeline::set_person_resolver(PersonResolver* resolver) { person_resolver_ = resolver; }

// Puts each converted message under its PHR person; the reason when the row must wait.
std::optional<std::string> Pipeline::resolve_persons(std::vector<ConvertedMessage>& messages, int64_t inbox_id,
                                                     std::string_view message_type) {
  if (!person_resolver_) return std::nullopt;
  std::optional<std::string> held;
  for (auto& m : messages) {
    if (!m.ok) continue;
    PersonDecision d = person_resolver_->resolve(m, inbox_id, message_type);
    if (d.kind == PersonDecision::Kind::Hold && !held) held = std::move(d.reason);
  }
  return held;
}

// After a batch's rows are completed: the codes of every row that was not handed back.
void Pipeline::count_unmapped() {
  if (unmapped_->empty()) return;
  std::vector<mapping::UnmappedCode> codes = unmapped_->take(now_ms());
  for (const auto& c : codes) {
    auto it = unmapped_counters_.find(c.source);
    if (it == unmapped_counters_.end())  // a row from a source no longer configured
      it = unmapped_counters_.emplace(c.source, &metrics_.counter(kUnmappedMetric, kUnmappedHelp,
                                                                  source_label(c.source))).first;
    it->second->inc(static_cast<uint64_t>(c.count));
  }
  if (!options_.unmapped_codes) return;
  try {
    options_.unmapped_codes->record(codes);
  } catch (const std::exception& e) {
    // Statistics only: the messages are converted and delivered; keep going.
    log::warn("pipeline.unmapped_record_failed", {{"codes", std::to_string(codes.size())}, {"error", e.what()}});
  }
}

// Records completions (and the delivery attempts of those rows) in chunks of
// options_.completion_chunk rows, each chunk durable before the next is queued: each chunk
// joins one of the inbox's group commits, so no single commit carries hundreds of row updates
// and holds back the ACKs of the new messages that share it. A crash between chunks leaves the
// later rows pending; they are converted and delivered again (idempotent), as after any crash.
void Pipeline::write_completions(const std::vector<queue::Completion>& completions,
                                 std::vector<queue::DeliveryAttempt> attempts) {
  const std::size_t chunk = std::max<std::size_t>(options_.completion_chunk, 1);
  std::unordered_map<int64_t, std::size_t> chunk_of_row;
  for (std::size_t i = 0; i < completions.size(); ++i) chunk_of_row[completions[i].id] = i / chunk;
  std::vector<std::vector<queue::DeliveryAttempt>> attempts_of_chunk((completions.size() + chunk - 1) / chunk + 1);
  for (auto& a : attempts) {
    auto it = chunk_of_row.find(a.inbox_id);  // every attempt here belongs to a completed row
    attempts_of_chunk[it == chunk_of_row.end() ? 0 : it->second].push_back(std::move(a));
  }
  for (std::size_t begin = 0, c = 0; begin < completions.size() || !attempts_of_chunk[c].empty(); begin += chunk, ++c) {
    if (!attempts_of_chunk[c].empty()) inbox_.record_deliveries(std::move(attempts_of_chunk[c]));
    if (begin >= completions.size()) break;
    const std::size_t end = std::min(completions.size(), begin + chunk);
    inbox_.complete_many(std::vector<queue::Completion>(completions.begin() + static_cast<std::ptrdiff_t>(begin),
                                                        completions.begin() + static_cast<std::ptrdiff_t>(end)));
  }
}

std::size_t Pipeline::process_batch() {
  if (std::chrono::steady_clock::now() < retry_after_) return 0;
  auto rows = inbox_.fetch_pending(options_.batch_size);
  if (rows.empty()) return 0;

  std::shared_ptr<const mapping::CodeMaps> maps;
  {
    std::lock_guard lock(maps_mutex_);
    maps = code_maps_;
  }
  const std::string mapping_version = maps ? maps->version() : std::string();
  unmapped_->clear();

  struct Work {
    const queue::PendingRow* row;
    std::vector<ConvertedMessage> messages;
  };
  std::vector<Work> work;
  work.reserve(rows.size());
  std::vector<queue::Completion> completions;

  for (const auto& row : rows) {
    unmapped_->begin_message(row.id);
    Conversion conv = convert(row.source, row.content_type, row.payload, maps.get(), unmapped_.get());
    if (!conv.error.empty()) {
      log::warn("pipeline.conversion_failed", {{"source", row.source}, {"control_id", row.control_id},
                                               {"inbox_id", std::to_string(row.id)}, {"error", conv.error}});
      completions.push_back({row.id, queue::InboxStatus::Failed, conv.error, mapping_version, {}, {}});
      counters_->failed.inc();
      continue;
    }
    if (auto held = resolve_persons(conv.messages, row.id, row.message_type)) {
      log::info("pipeline.held", {{"source", row.source}, {"control_id", row.control_id},
                                  {"inbox_id", std::to_string(row.id)}, {"reason", *held}});
      completions.push_back({row.id, queue::InboxStatus::Failed, *held, mapping_version, {}, {}});
      counters_->failed.inc();
      continue;
    }
    work.push_back(Work{&row, std::move(conv.messages)});
  }

  // Deliver every converted message of the batch to each sink in one call.
  std::vector<Delivery> batch;
  std::vector<std::size_t> owner;  // index into work for each delivery
  for (std::size_t i = 0; i < work.size(); ++i)
    for (const auto& m : work[i].messages) {
      batch.push_back({work[i].row->id, &work[i].row->source, &m.control_id, &m.person_id, &m.resources,
                       &m.document_set, m.document_version});
      owner.push_back(i);
    }
  std::vector<DeliveryStatus> verdict(work.size(), DeliveryStatus::Delivered);
  std::vector<std::string> reason(work.size());
  std::vector<queue::DeliveryAttempt> attempts;
  deliver(batch, owner, verdict, reason, &attempts);
  // The attempts of rows handed back for retry are recorded now (each release() below waits
  // for a commit, which makes them durable); the others go with their rows' completions.
  std::unordered_set<int64_t> retried_rows;
  for (std::size_t i = 0; i < work.size(); ++i)
    if (verdict[i] == DeliveryStatus::Retry) retried_rows.insert(work[i].row->id);
  auto finished = std::stable_partition(attempts.begin(), attempts.end(), [&](const queue::DeliveryAttempt& a) {
    return retried_rows.count(a.inbox_id) != 0;
  });
  if (finished != attempts.begin())
    inbox_.record_deliveries(std::vector<queue::DeliveryAttempt>(attempts.begin(), finished));
  attempts.erase(attempts.begin(), finished);

  bool any_retry = false;
  for (std::size_t i = 0; i < work.size(); ++i) {
    const auto& row = *work[i].row;
    switch (verdict[i]) {
      case DeliveryStatus::Delivered:
        completions.push_back({row.id, queue::InboxStatus::Done, {}, mapping_version, {}, {}});
        describe_conversion(work[i].messages, completions.back());
        counters_->converted.inc();
        break;
      case DeliveryStatus::Reject:
        log::warn("pipeline.delivery_rejected", {{"source", row.source}, {"control_id", row.control_id},
                                                 {"inbox_id", std::to_string(row.id)}, {"error", reason[i]}});
        completions.push_back({row.id, queue::InboxStatus::Failed, reason[i], mapping_version, {}, {}});
        describe_conversion(work[i].messages, completions.back());
        counters_->failed.inc();
        break;
      case DeliveryStatus::Retry:
        log::warn("pipeline.delivery_retry", {{"control_id", row.control_id}, {"inbox_id", std::to_string(row.id)},
                                              {"error", reason[i]}});
        inbox_.release(row.id);
        unmapped_->discard(row.id);  // converted (and counted) again on the next attempt
        counters_->retried.inc();
        any_retry = true;
        break;
    }
  }
  // Counted before the rows show as finished, so a finished row's codes are always visible.
  count_unmapped();
  write_completions(completions, std::move(attempts));
  if (any_retry) retry_after_ = std::chrono::steady_clock::now() + options_.retry_delay;
  return rows.size();
}

ReplayOutcome Pipeline::replay(const queue::InboxRow& row, std::shared_ptr<const mapping::CodeMaps> maps) {
  ReplayOutcome out;
  out.mapping_version = maps ? maps->version() : std::string();
  if (row.status != queue::InboxStatus::Done && row.status != queue::InboxStatus::Failed) {
    out.error = "only a converted (done) or failed message can be replayed";
    return out;
  }
  Conversion conv = convert(row.source, row.content_type, row.payload, maps.get(), nullptr);
  std::vector<DeliveryStatus> verdict(1, DeliveryStatus::Delivered);
  std::vector<std::string> reason(1);
  if (!conv.error.empty()) {
    verdict[0] = DeliveryStatus::Reject;
    reason[0] = conv.error;
  } else if (auto held = resolve_persons(conv.messages, row.id, row.message_type)) {
    verdict[0] = DeliveryStatus::Reject;  // still waiting for an operator: stays failed, held
    reason[0] = *held;
  } else {
    std::vector<Delivery> batch;
    for (const auto& m : conv.messages)
      batch.push_back({row.id, &row.source, &m.control_id, &m.person_id, &m.resources, &m.document_set,
                       m.document_version});
    std::vector<queue::DeliveryAttempt> attempts;
    deliver(batch, std::vector<std::size_t>(batch.size(), 0), verdict, reason, &attempts);
    inbox_.record_deliveries(std::move(attempts));  // committed with record_replay() below
  }
  const std::string inbox_id = std::to_string(row.id);
  if (verdict[0] == DeliveryStatus::Retry) {
    log::warn("pipeline.replay_retry", {{"inbox_id", inbox_id}, {"error", reason[0]}});
    out.result = ReplayOutcome::Result::Retry;
    out.error = reason[0];
    return out;
  }
  const bool done = verdict[0] == DeliveryStatus::Delivered;
  queue::Completion c{row.id, done ? queue::InboxStatus::Done : queue::InboxStatus::Failed,
                      done ? std::string() : reason[0], out.mapping_version, {}, {}};
  if (!inbox_.record_replay(c)) {
    out.error = "the message changed state during the replay";
    return out;
  }
  out.result = done ? ReplayOutcome::Result::Done : ReplayOutcome::Result::Failed;
  out.error = c.error;
  log::info("pipeline.replayed", {{"source", row.source}, {"control_id", row.control_id}, {"inbox_id", inbox_id},
                                  {"mapping_version", out.mapping_version}, {"status", done ? "done" : "failed"}});
  return out;
}

}  // namespace phrgate::pipeline
