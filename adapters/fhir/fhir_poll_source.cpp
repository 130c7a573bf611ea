// The fhir_poll source (see fhir_poll_source.h). One thread runs poll cycles: resolve the
// patients, then for each (type, patient) page through the search, commit each page's new
// resources as one inbox row, and advance the high-water mark once the search is done.
// Retryable answers (429, 502-504, no response) back off exponentially, honouring Retry-After.
#include "adapters/fhir/fhir_poll_source.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/fhir/fhir_json_doc.h"
#include "adapters/fhir/fhir_poll_state.h"
#include "adapters/fhir/fhir_to_phr.h"
#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"

namespace phrgate::fhir {
namespace {

struct PolledPatient {
  std::string id;    // on the server
  std::string json;  // the Patient resource, as served
};

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

bool retryable(const fhir_client::HttpResult& r) {
  return r.status == 0 || r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

}  // namespace

struct FhirPollSource::Impl {
  FhirPollConfig cfg;
  queue::Inbox& inbox;
  std::function<void()> notify_pipeline;
  std::unique_ptr<FhirPollState> state;
  std::unique_ptr<fhir_client::FhirHttpClient> client;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  bool finished = false;
  // Counters (read by status() from other threads).
  std::atomic<int64_t> polls{0}, polls_failed{0}, pages{0}, resources{0}, rows_committed{0}, rows_duplicate{0},
      request_errors{0}, backoffs{0};

  Impl(FhirPollConfig c, pipeline::SourceDeps& deps)
      : cfg(std::move(c)), inbox(deps.inbox), notify_pipeline(deps.notify_pipeline) {}

  void open() {
    if (!state) state = std::make_unique<FhirPollState>(cfg.state_path);
    if (!client) client = std::make_unique<fhir_client::FhirHttpClient>(cfg.client);
  }

  bool stop_requested() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  // Sleeps up to `d`; false when woken by a stop.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, d, [this] { return stopping; });
  }

  // GET with retries; nullopt after max_attempts or a stop. Non-retryable answers return as they are.
  std::optional<fhir_client::HttpResult> get(const std::string& url) {
    std::chrono::milliseconds backoff = cfg.backoff_initial;
    for (int attempt = 1;; ++attempt) {
      fhir_client::HttpResult r = client->get(url);
      if (!retryable(r)) return r;
      ++request_errors;
      if (attempt >= cfg.max_attempts) {
        log::warn("fhir_poll.request_failed", {{"source", cfg.name}, {"status", std::to_string(r.status)},
                                               {"error", r.error}, {"attempts", std::to_string(attempt)}});
        return std::nullopt;
      }
      // The exponential backoff, or longer when the server asks for it (Retry-After).
      std::chrono::milliseconds wait = backoff;
      if (r.retry_after) wait = std::max<std::chrono::milliseconds>(wait, *r.retry_after);
      ++backoffs;
      log::info("fhir_poll.backoff", {{"source", cfg.name}, {"status", std::to_string(r.status)},
                                      {"wait_ms", std::to_string(wait.count())}});
      if (!sleep_for(wait)) return std::nullopt;
      backoff = std::min(backoff * 2, cfg.backoff_max);
    }
  }

  // The Patient resources to poll for (each configured patient, the Group's members).
  bool resolve_patients(std::vector<PolledPatient>& out) {
    bool ok = true;
    auto read_patient = [&](const std::string& id) {
      auto r = get("Patient/" + url_encode(id));
      if (!r || !r->ok()) {
        ok = false;
        log::warn("fhir_poll.patient_unavailable", {{"source", cfg.name}, {"status", r ? std::to_string(r->status) : "0"}});
        return;
      }
      out.push_back({id, std::move(r->body)});
    };
    for (const auto& p : cfg.patients) {
      if (!p.id.empty()) {
        read_patient(p.id);
        continue;
      }
      auto r = get("Patient?identifier=" + url_encode(p.identifier));
      rapidjson::Document d;
      std::string error;
      if (!r || !r->ok() || !parse_fhir_json(r->body, d, error) || !member(d, "entry") || !member(d, "entry")->IsArray()) {
        ok = false;
        log::warn("fhir_poll.patient_search_failed", {{"source", cfg.name}, {"status", r ? std::to_string(r->status) : "0"}});
        continue;
      }
      const std::size_t before = out.size();
      for (const auto& e : member(d, "entry")->GetArray()) {
        const rapidjson::Value* res = member(e, "resource");
        if (!res || string_member(*res, "resourceType") != "Patient" || string_member(*res, "id").empty()) continue;
        PolledPatient pp;
        pp.id = string_member(*res, "id");
        write_fhir_json(pp.json, *res);
        out.push_back(std::move(pp));
      }
      if (out.size() == before) log::warn("fhir_poll.patient_not_found", {{"source", cfg.name}});
    }
    if (!cfg.group.empty()) {
      auto r = get("Group/" + url_encode(cfg.group));
      rapidjson::Document d;
      std::string error;
      if (!r || !r->ok() || !parse_fhir_json(r->body, d, error)) {
        log::warn("fhir_poll.group_unavailable", {{"source", cfg.name}, {"status", r ? std::to_string(r->status) : "0"}});
        return false;
      }
      if (const rapidjson::Value* members = member(d, "member"); members && members->IsArray())
        for (const auto& m : members->GetArray()) {
          const rapidjson::Value* entity = member(m, "entity");
          const std::string_view ref = entity ? string_member(*entity, "reference") : std::string_view{};
          if (ref.substr(0, 8) == "Patient/" && is_fhir_id(ref.substr(8))) read_patient(std::string(ref.substr(8)));
        }
    }
    return ok;
  }

  queue::SubmitResult commit(queue::InboxMessage msg) {
    auto promise = std::make_shared<std::promise<queue::SubmitResult>>();
    auto verdict = promise->get_future();
    inbox.submit(std::move(msg), [promise](queue::SubmitResult r, int64_t) { promise->set_value(r); });
    if (verdict.wait_for(cfg.commit_timeout) != std::future_status::ready) return queue::SubmitResult::Failed;
    return verdict.get();
  }

  // Pages through one search; the mark advances only when every page is committed.
  bool poll_search(const std::string& type, const PolledPatient& patient) {
    const HighWaterMark old_mark = state->get(type, patient.id);
    const std::set<std::string> committed(old_mark.boundary.begin(), old_mark.boundary.end());
    HighWaterMark mark = old_mark;
    std::string url = type + (type == "Patient" ? "?_id=" : "?patient=") + url_encode(patient.id) +
                      "&_count=" + std::to_string(cfg.page_size) + "&_sort=_lastUpdated";
    if (!old_mark.last_updated.empty()) url += "&_lastUpdated=ge" + url_encode(old_mark.last_updated);
    while (!url.empty()) {
      if (stop_requested()) return false;
      auto r = get(url);
      rapidjson::Document page;
      std::string error;
      if (!r) return false;
      if (!r->ok() || !parse_fhir_json(r->body, page, error) || string_member(page, "resourceType") != "Bundle") {
        ++request_errors;
        log::warn("fhir_poll.search_failed", {{"source", cfg.name}, {"type", type}, {"status", std::to_string(r->status)}});
        return false;
      }
      ++pages;
      const std::string self = client->resolve(url);
      if (!commit_page(page, type, patient, self, committed, old_mark.last_updated, mark)) return false;
      auto next = fhir_client::bundle_next_link(r->body);
      url = next ? *next : std::string();
    }
    if (mark.last_updated != old_mark.last_updated || mark.boundary != old_mark.boundary)
      state->put(type, patient.id, mark);
    return true;
  }

  // Commits the page's resources not committed before as one searchset Bundle (with the
  // Patient included) and folds their lastUpdated into `mark`.
  bool commit_page(rapidjson::Document& page, const std::string& type, const PolledPatient& patient,
                   const std::string& self, const std::set<std::string>& committed, const std::string& old_last,
                   HighWaterMark& mark) {
    std::string entries, keys;
    std::size_t kept = 0;
    if (rapidjson::Value* list = member(page, "entry"); list && list->IsArray()) {
      for (auto& e : list->GetArray()) {
        const rapidjson::Value* res = member(e, "resource");
        if (!res || string_member(*res, "resourceType") != type) continue;  // outcomes, includes
        const rapidjson::Value* meta = member(*res, "meta");
        const std::string last(meta ? string_member(*meta, "lastUpdated") : std::string_view{});
        const std::string key = type + "/" + std::string(string_member(*res, "id")) + "/" +
                                std::string(meta ? string_member(*meta, "versionId") : std::string_view{});
        if (!last.empty() && last == old_last && committed.count(key)) continue;  // already in the inbox
        if (!last.empty() && last > mark.last_updated) {
          mark.last_updated = last;
          mark.boundary.clear();
        }
        if (!last.empty() && last == mark.last_updated) mark.boundary.push_back(key);
        entries.append(entries.empty() ? "" : ",");
        write_fhir_json(entries, e);
        keys.append(key).append(" ").append(last).push_back('\n');  // servers without versionId too
        ++kept;
      }
    }
    if (kept == 0) return true;
    if (type != "Patient") {
      entries.append(",{\"fullUrl\":");
      std::string full_url = cfg.client.base_url + "/Patient/" + patient.id;
      rapidjson::Value v(full_url.c_str(), static_cast<rapidjson::SizeType>(full_url.size()));
      write_fhir_json(entries, v);
      entries.append(",\"resource\":").append(patient.json).append(",\"search\":{\"mode\":\"include\"}}");
    }
    queue::InboxMessage msg;
    msg.source = cfg.name;
    msg.sender = cfg.client.base_url;
    msg.control_id = "fhir_poll:" + sha256_hex(keys);
    msg.message_type = "Bundle/searchset " + type;
    msg.content_type = std::string(kFhirContentType);
    rapidjson::Value self_v(self.c_str(), static_cast<rapidjson::SizeType>(self.size()));
    msg.payload = R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":)";
    write_fhir_json(msg.payload, self_v);
    msg.payload.append("}],\"entry\":[").append(entries).append("]}");
    const std::string control_id = msg.control_id;
    const queue::SubmitResult result = commit(std::move(msg));
    if (result == queue::SubmitResult::Failed) {
      log::error("fhir_poll.commit_failed", {{"source", cfg.name}, {"control_id", control_id}});
      return false;
    }
    resources += static_cast<int64_t>(kept);
    if (result == queue::SubmitResult::Duplicate) {
      ++rows_duplicate;
    } else {
      ++rows_committed;
      if (notify_pipeline) notify_pipeline();
    }
    return true;
  }

  bool poll_once() {
    open();
    ++polls;
    std::vector<PolledPatient> patients;
    bool ok = resolve_patients(patients);
    for (const auto& p : patients)
      for (const auto& type : cfg.resource_types) {
        if (stop_requested()) return false;
        ok = poll_search(type, p) && ok;
      }
    if (!ok) ++polls_failed;
    log::info("fhir_poll.polled", {{"source", cfg.name}, {"ok", ok ? "true" : "false"},
                                   {"patients", std::to_string(patients.size())}});
    return ok;
  }

  void run() {
    while (!stop_requested()) {
      try {
        poll_once();
      } catch (const std::exception& e) {
        ++polls_failed;
        log::error("fhir_poll.poll_error", {{"source", cfg.name}, {"error", e.what()}});
      }
      if (!sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.interval))) break;
    }
    std::lock_guard lock(mutex);
    finished = true;
    wake.notify_all();
  }
};

FhirPollSource::FhirPollSource(FhirPollConfig config, pipeline::SourceDeps& deps)
    : impl_(std::make_unique<Impl>(std::move(config), deps)) {
  if (impl_->cfg.state_path.empty()) {
    if (deps.data_dir.empty()) throw std::runtime_error("source " + impl_->cfg.name + ": state_path is required");
    impl_->cfg.state_path = deps.data_dir + "/fhir_poll-" + impl_->cfg.name + ".db";
  }
}

FhirPollSource::~FhirPollSource() {
  stop_accepting();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const std::string& FhirPollSource::name() const { return impl_->cfg.name; }

void FhirPollSource::start() {
  impl_->open();  // throws: unusable state file or client configuration
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void FhirPollSource::stop_accepting() {
  std::lock_guard lock(impl_->mutex);
  impl_->stopping = true;
  impl_->wake.notify_all();
}

void FhirPollSource::drain(std::chrono::steady_clock::time_point deadline) {
  if (!impl_->thread.joinable()) return;
  std::unique_lock lock(impl_->mutex);
  impl_->wake.wait_until(lock, deadline, [this] { return impl_->finished; });
}

pipeline::SourceStatus FhirPollSource::status() const {
  pipeline::SourceStatus s;
  s.name = impl_->cfg.name;
  s.type = "fhir_poll";
  const Impl& i = *impl_;
  s.counters = {{"polls", i.polls},           {"polls_failed", i.polls_failed},     {"pages", i.pages},
                {"resources", i.resources},   {"rows_committed", i.rows_committed}, {"rows_duplicate", i.rows_duplicate},
                {"request_errors", i.request_errors}, {"backoffs", i.backoffs}};
  return s;
}

bool FhirPollSource::poll_once() { return impl_->poll_once(); }

std::unique_ptr<pipeline::Source> make_fhir_poll_source(const config::AdapterConfig& cfg, pipeline::SourceDeps& deps) {
  return std::make_unique<FhirPollSource>(parse_fhir_poll_config(cfg), deps);
}

}  // namespace phrgate::fhir
