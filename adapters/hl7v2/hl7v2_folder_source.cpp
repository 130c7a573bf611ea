// Implementation of the "hl7v2_folder" source (see hl7v2_folder_source.h). The folder work
// (polling, still-file detection, atomic moves) is adapters/common/folder's FolderWatcher;
// this file only turns a file's bytes into inbox rows and decides the file's fate.
// Inbox callbacks may run after the source is gone (shutdown): they touch only FileInFlight
// and SharedState, which they co-own; never `this`.
#include "adapters/hl7v2/hl7v2_folder_source.h"

#include "adapters/common/folder/folder_config.h"
#include "adapters/common/folder/folder_source_state.h"

#include "adapters/hl7v2/hl7v2_acceptance.h"

#include <atomic>
#include <mutex>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/core/log.h"
#include "gateway/pipeline/convert_settings.h"
#include "gateway/core/metrics.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"

namespace phrgate::hl7v2 {
namespace {

constexpr std::string_view kContentType = "application/hl7-v2";
constexpr std::string_view kType = "hl7v2_folder";

// Counters and hooks the inbox callbacks need, co-owned by the source and every file in flight.
using SharedState = folder::FolderSourceState;

// How the file's lines fall: messages (MSH...), batch envelope (FHS/BHS/BTS/FTS), and lines
// outside any message, which split_messages() would drop and the operator must hear about.
struct FileLayout {
  int msh_lines = 0;
  int stray_lines = 0;
  int first_stray_line = 0;  // 1-based
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_blank(std::string_view line) {
  for (unsigned char c : line)
    if (c > 0x20 && c != 0x7f) return false;
  return true;
}

FileLayout layout_of(std::string_view text) {
  FileLayout out;
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  bool in_message = false;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find_first_of("\r\n", pos);
    std::size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    if (starts_with(line, "MSH")) {
      in_message = true;
      ++out.msh_lines;
    } else if (starts_with(line, "FHS") || starts_with(line, "BHS") || starts_with(line, "BTS") ||
               starts_with(line, "FTS")) {
      in_message = false;
    } else if (!in_message && !is_blank(line)) {
      if (out.stray_lines++ == 0) out.first_stray_line = line_no;
    }
    pos = end;
    if (pos < text.size() && text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
    if (pos < text.size()) ++pos;
  }
  return out;
}

// A control id as the sidecar may show it: printable ASCII, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 64) out += "...";
  return out;
}

struct MessageItem {
  std::string control_id;  // MSH-10 as received ("" when unparseable)
  std::string reason;      // why it was rejected; "" when accepted
  queue::SubmitResult result = queue::SubmitResult::Failed;
};

// One file whose messages are being committed.
struct FileInFlight {
  std::shared_ptr<SharedState> shared;
  folder::FileDone done;
  std::string file_name;
  FileLayout layout;
  std::vector<MessageItem> items;
  std::chrono::steady_clock::time_point t0;
  std::mutex mutex;
  std::size_t remaining = 0;

  void on_result(std::size_t i, queue::SubmitResult r) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      items[i].result = r;
      if (--remaining != 0) return;
    }
    finish();
  }

  void finish() {
    auto& s = *shared;
    folder::FileResult fr;
    fr.messages = static_cast<int64_t>(items.size());
    int64_t failed = 0;
    for (const auto& it : items) {
      const bool rejected = !it.reason.empty();
      if (it.result == queue::SubmitResult::Failed) {
        ++failed;
        s.commit_failure_metric->inc();
        continue;
      }
      s.commit_latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (it.result == queue::SubmitResult::Duplicate) s.duplicate_metric->inc();
      (rejected ? s.rejected_metric : s.accepted)->inc();
      if (rejected) ++fr.rejected;
      else if (it.result == queue::SubmitResult::Duplicate) ++fr.duplicates;
      else ++fr.committed;
    }
    s.committed += fr.committed;
    s.duplicates += fr.duplicates;
    s.rejected += fr.rejected;
    if (failed > 0) {
      s.commit_failures += failed;
      fr.outcome = folder::FileOutcome::Retry;
      fr.summary = "inbox commit failed for " + std::to_string(failed) + " of " + std::to_string(items.size()) +
                   " messages";
      log::error("hl7v2.commit_failed", {{"source", s.source}, {"file", file_name}, {"error", fr.summary},
                                         {"action", "file left in place; read again next poll"}});
    } else if (fr.rejected > 0 || layout.stray_lines > 0) {
      fr.outcome = folder::FileOutcome::Failed;
      fr.summary = std::to_string(fr.rejected) + " of " + std::to_string(items.size()) + " messages rejected";
      if (layout.stray_lines > 0) fr.summary += "; " + std::to_string(layout.stray_lines) + " lines outside any message";
      fr.sidecar_text = sidecar(fr);
    }
    if (fr.committed > 0 && s.notify_pipeline) s.notify_pipeline();
    done(std::move(fr));
  }

  std::string sidecar(const folder::FileResult& fr) const {
    std::string t = "phrgate could not accept everything in this file.\nsource: " + shared->source +
                    "\nfile: " + file_name + "\nmessages: " + std::to_string(fr.messages) +
                    " (committed: " + std::to_string(fr.committed) + ", already committed: " +
                    std::to_string(fr.duplicates) + ", rejected: " + std::to_string(fr.rejected) + ")\n\n";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].reason.empty()) continue;
      t += "message " + std::to_string(i + 1) + " (MSH-10 " +
           (items[i].control_id.empty() ? std::string("unreadable") : "\"" + printable(items[i].control_id) + "\"") +
           "): rejected: " + items[i].reason + "\n";
    }
    if (layout.stray_lines > 0)
      t += std::to_string(layout.stray_lines) + " line(s) outside any MSH message were ignored (first at line " +
           std::to_string(layout.first_stray_line) + ")\n";
    t += "\nAccepted messages are in the inbox and will be processed. Rejected messages are kept in\n"
         "the inbox as \"rejected\" with the reason above. After fixing the file, drop it into the\n"
         "folder again: messages already committed are recognised as duplicates.\n";
    return t;
  }
};

class Hl7v2FolderSource final : public pipeline::Source {
 public:
  Hl7v2FolderSource(const config::AdapterConfig& cfg, pipeline::SourceDeps& deps, const folder::FolderWatcherHooks& hooks)
      : name_(cfg.name), inbox_(deps.inbox), shared_(std::make_shared<SharedState>()) {
    const auto& o = *cfg.options;
    settings_ = pipeline::read_convert_settings(o);
    folder::FolderWatcherOptions fo = folder::folder_options_from_config(o, name_);
    fo.hooks = hooks;

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
    st.counters = shared_->status_counters(w, "messages");
    return st;
  }

  pipeline::ConvertSettings convert_settings() const override { return settings_; }

 private:
  // On the watcher's thread: judge every message and submit it; `done` runs when all answered.
  void on_file(const folder::PickedFile& file, folder::FileDone done) {
    auto f = std::make_shared<FileInFlight>();
    f->shared = shared_;
    f->done = std::move(done);
    f->file_name = file.name;
    f->layout = layout_of(file.content);
    f->t0 = std::chrono::steady_clock::now();
    if (f->layout.msh_lines == 0) {
      folder::FileResult fr;
      fr.outcome = folder::FileOutcome::Failed;
      fr.summary = "no HL7 v2 message in the file (no line starts with MSH)";
      f->done(std::move(fr));
      return;
    }
    std::vector<std::string_view> texts = split_messages(file.content);
    if (texts.empty()) {  // cannot happen with an MSH line; never leave the watcher waiting
      f->done(folder::FileResult{folder::FileOutcome::Failed, "no HL7 v2 message in the file"});
      return;
    }
    std::vector<queue::InboxMessage> rows;
    rows.reserve(texts.size());
    f->items.resize(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) rows.push_back(judge(texts[i], f->items[i], file.name, i));
    f->remaining = rows.size();
    shared_->received->inc(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      inbox_.submit(std::move(rows[i]), [f, i](queue::SubmitResult r, int64_t) { f->on_result(i, r); });
  }

  queue::InboxMessage judge(std::string_view text, MessageItem& item, const std::string& file, std::size_t index) {
    queue::InboxMessage row;
    row.source = name_;
    row.content_type = std::string(kContentType);
    ParseError perr;
    if (auto msg = Message::parse(text, &perr)) {
      fill_row_header(msg->header(), row);
      item.control_id = row.control_id;
      // MSH-11 is not filtered here: a file drop has no peer to answer AR to.
      item.reason = check_acceptance(*msg).text;
    } else {
      item.reason = "HL7 v2 parse error" + (perr.location.empty() ? std::string() : " at " + perr.location) + ": " +
                    perr.text;
      // No MSH-10 to deduplicate on: key the row by its content, so reading the file again
      // (after a crash or a failed commit) does not store the same rejected message twice.
      row.control_id = "sha256:" + sha256_hex(text);
    }
    if (!item.reason.empty()) {
      row.status = queue::InboxStatus::Rejected;
      row.error = item.reason;
      log::warn("hl7v2.rejected", {{"source", name_}, {"file", file}, {"index", std::to_string(index + 1)},
                                   {"control_id", item.control_id}, {"error", item.reason}});
    }
    row.payload.assign(text);
    return row;
  }

  std::string name_;
  queue::Inbox& inbox_;
  std::shared_ptr<SharedState> shared_;
  pipeline::ConvertSettings settings_;
  std::unique_ptr<folder::FolderWatcher> watcher_;  // last: stopped before the rest goes
};

}  // namespace

std::unique_ptr<pipeline::Source> make_hl7v2_folder_source(const config::AdapterConfig& config,
                                                           pipeline::SourceDeps& deps,
                                                           const folder::FolderWatcherHooks& hooks) {
  return std::make_unique<Hl7v2FolderSource>(config, deps, hooks);
}

}  // namespace phrgate::hl7v2
