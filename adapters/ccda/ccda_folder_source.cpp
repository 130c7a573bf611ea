// Implementation of the "ccda_folder" source (see ccda_folder_source.h). The folder work
// (polling, still-file detection, atomic moves, sidecars) is adapters/common/folder's
// FolderWatcher; the judgement is judge_ccda_document (ccda_http_ingest.h). This file only
// turns a file into one inbox row and decides the file's fate from the commit's result.
// Inbox callbacks may run after the source is gone (shutdown): they touch only the state
// they co-own (SharedState), never `this`.
#include "adapters/ccda/ccda_folder_source.h"

#include "adapters/common/folder/folder_config.h"
#include "adapters/common/folder/folder_source_state.h"

#include <atomic>

#include "adapters/ccda/ccda_http_ingest.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"

namespace phrgate::ccda {
namespace {

constexpr std::string_view kType = "ccda_folder";

// Counters and hooks the inbox callbacks need, co-owned by the source and its files in flight.
using SharedState = folder::FolderSourceState;

// A document id as the sidecar may show it: printable ASCII, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 80) out += "...";
  return out;
}

std::string sidecar_text(const std::string& source, const std::string& file, const std::string& error,
                         int64_t inbox_id) {
  return "phrgate could not accept this C-CDA document.\nsource: " + source + "\nfile: " + file +
         "\nrejected: " + error + "\ninbox row: " + std::to_string(inbox_id) +
         " (kept as \"rejected\" with the reason above)\n\n"
         "After fixing the document, drop it into the folder again.\n";
}

class CcdaFolderSource final : public pipeline::Source {
 public:
  CcdaFolderSource(const config::AdapterConfig& cfg, pipeline::SourceDeps& deps, const folder::FolderWatcherHooks& hooks)
      : name_(cfg.name), inbox_(deps.inbox), shared_(std::make_shared<SharedState>()) {
    const auto& o = *cfg.options;
    settings_.default_zone = config::get_string(o, "default_timezone", "Z");
    fallback_sender_ = config::get_string(o, "sender", "");
    folder::FolderWatcherOptions fo = folder::folder_options_from_config(o, name_);
    fo.hooks = hooks;
    check_.max_bytes = static_cast<std::size_t>(fo.max_file_bytes);
    check_.schema_path = config::get_string(o, "xsd", "");

    shared_->init(name_, deps.notify_pipeline, deps.metrics);
    watcher_ = std::make_unique<folder::FolderWatcher>(
        std::move(fo), [this](const folder::PickedFile& f, folder::FileDone done) { on_file(f, std::move(done)); },
        &deps.metrics);
  }

  const std::string& name() const override { return name_; }

  void start() override {
    watcher_->start();
    log::info("source.watching", {{"source", name_}, {"type", kType}, {"path", watcher_->options().inbox_dir}});
  }

  void stop_accepting() override { watcher_->stop(); }

  void drain(std::chrono::steady_clock::time_point deadline) override {
    if (!watcher_->wait_idle(deadline))
      log::warn("folder.drain_timeout", {{"source", name_}, {"action", "the file in hand stays in the folder"}});
  }

  pipeline::SourceStatus status() const override {
    auto w = watcher_->stats();
    pipeline::SourceStatus st;
    st.name = name_;
    st.type = std::string(kType);
    st.counters = shared_->status_counters(w, "documents");
    return st;
  }

  pipeline::ConvertSettings convert_settings() const override { return settings_; }

 private:
  // On the watcher's thread: judge the document, submit its row; `done` runs once committed.
  void on_file(const folder::PickedFile& file, folder::FileDone done) {
    CcdaIntakeVerdict verdict = judge_ccda_document(file.content, check_, name_, fallback_sender_);
    const bool rejected = verdict.rejected();
    std::string error = verdict.row.error;
    std::string control_id = rejected ? std::string() : verdict.row.control_id;
    if (rejected)
      log::warn("ccda.rejected", {{"source", name_}, {"file", file.name}, {"error", error}});
    shared_->received->inc();
    inbox_.submit(std::move(verdict.row), [s = shared_, done = std::move(done), rejected, error = std::move(error),
                                           control_id = std::move(control_id),
                                           file_name = file.name](queue::SubmitResult r, int64_t id) {
      folder::FileResult fr;
      fr.messages = 1;
      if (r == queue::SubmitResult::Failed) {
        ++s->commit_failures;
        s->commit_failure_metric->inc();
        fr.outcome = folder::FileOutcome::Retry;
        fr.summary = "inbox commit failed";
        log::error("ccda.commit_failed", {{"source", s->source}, {"file", file_name},
                                          {"action", "file left in place; read again next poll"}});
        done(std::move(fr));
        return;
      }
      if (r == queue::SubmitResult::Duplicate) s->duplicate_metric->inc();
      if (rejected) {
        ++s->rejected;
        ++fr.rejected;
        s->rejected_metric->inc();
        fr.outcome = folder::FileOutcome::Failed;
        fr.summary = "document rejected: " + error;
        fr.sidecar_text = sidecar_text(s->source, file_name, error, id);
      } else if (r == queue::SubmitResult::Duplicate) {
        ++s->duplicates;
        ++fr.duplicates;
        s->accepted->inc();
        log::info("ccda.duplicate", {{"source", s->source}, {"file", file_name},
                                     {"control_id", printable(control_id)}, {"inbox_id", std::to_string(id)}});
      } else {
        ++s->committed;
        ++fr.committed;
        s->accepted->inc();
        if (s->notify_pipeline) s->notify_pipeline();
      }
      done(std::move(fr));
    });
  }

  std::string name_;
  queue::Inbox& inbox_;
  std::shared_ptr<SharedState> shared_;
  pipeline::ConvertSettings settings_;
  std::string fallback_sender_;
  CcdaCheckOptions check_;
  std::unique_ptr<folder::FolderWatcher> watcher_;  // last: stopped before the rest goes
};

}  // namespace

std::unique_ptr<pipeline::Source> make_ccda_folder_source(const config::AdapterConfig& config,
                                                          pipeline::SourceDeps& deps,
                                                          const folder::FolderWatcherHooks& hooks) {
  return std::make_unique<CcdaFolderSource>(config, deps, hooks);
}

void register_ccda_folder_source(pipeline::Registry& registry) {
  registry.add_source({std::string(kType), [](const config::AdapterConfig& cfg, pipeline::SourceDeps& deps) {
                         return make_ccda_folder_source(cfg, deps);
                       }});
}

}  // namespace phrgate::ccda
