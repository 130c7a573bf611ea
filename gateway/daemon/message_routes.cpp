// Implementation of the message browser and dead-letter routes (see message_routes.h).
// Handlers parse and validate parameters, ask the inbox (its own read connection), and
// answer JSON; replay goes through Pipeline::replay (Done/Failed rows) or requeues a
// Rejected row for the worker. Never echo filter values or content in an error text.
#include "gateway/daemon/message_routes.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>

#include "gateway/core/log.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/pipeline/pipeline.h"

namespace phrgate::daemon {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using Ctx = std::shared_ptr<MessageRoutesContext>;

constexpr std::size_t kDefaultLimit = 50, kMaxLimit = 1000;

void put(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

http::Response json_response(int status, const rapidjson::StringBuffer& buf) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

http::Response bad_request(std::string_view why) { return http::operation_outcome(400, "invalid", why); }

bool parse_int(std::string_view text, int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Epoch milliseconds, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC) -> epoch ms.
std::optional<int64_t> parse_time(std::string_view text) {
  int64_t ms = 0;
  if (parse_int(text, ms)) return ms;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0, used = 0;
  std::string t(text);
  if (t.size() == 10) {
    if (std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10) return std::nullopt;
  } else {
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6) return std::nullopt;
    std::string_view rest = text.substr(static_cast<std::size_t>(used));
    if (!rest.empty() && rest.front() == '.') {
      std::size_t digits = 1;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      std::string f(rest.substr(1, std::min<std::size_t>(digits - 1, 3)));
      while (f.size() < 3) f.push_back('0');
      frac = std::atoi(f.c_str());
      rest = rest.substr(digits);
    }
    if (rest != "Z") return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + frac;
}

std::string iso_utc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// The shared filters, from query parameters or a replay body's "filter" object.
// Returns an error text (no PHI) or empty.
using Lookup = std::function<const std::string*(std::string_view)>;
std::string parse_filter(const Lookup& get, queue::MessageFilter& f) {
  if (auto* v = get("control_id")) f.control_id = *v;
  if (auto* v = get("sender")) f.sender = *v;
  if (auto* v = get("type")) f.message_type = *v;
  if (auto* v = get("source")) f.source = *v;
  if (auto* v = get("status")) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      auto status = queue::parse_status(rest.substr(0, comma));
      if (!status) return "status must be pending, done, failed, rejected or discarded (comma-separated)";
      f.statuses.push_back(*status);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (auto* v = get("since")) {
    if (!(f.since_ms = parse_time(*v))) return "since must be epoch milliseconds or an ISO 8601 UTC time";
  }
  if (auto* v = get("until")) {
    if (!(f.until_ms = parse_time(*v))) return "until must be epoch milliseconds or an ISO 8601 UTC time";
  }
  if (auto* v = get("patient")) {
    std::size_t bar = v->find('|');
    if (bar == std::string::npos) {
      f.patient_value = *v;
    } else {
      f.patient_system = v->substr(0, bar);
      f.patient_value = v->substr(bar + 1);
    }
    if (f.patient_value.empty()) return "patient must be a value or system|value";
  }
  return {};
}

// The list parameters: filters plus limit, cursor, total.
std::string parse_list_params(const http::Request& req, queue::MessageFilter& f) {
  std::string error = parse_filter([&req](std::string_view k) { return req.param(k); }, f);
  if (!error.empty()) return error;
  if (auto* v = req.param("limit")) {
    int64_t n = 0;
    if (!parse_int(*v, n) || n < 1 || n > static_cast<int64_t>(kMaxLimit)) return "limit must be 1 to 1000";
    f.limit = static_cast<std::size_t>(n);
  } else {
    f.limit = kDefaultLimit;
  }
  if (auto* v = req.param("cursor")) {  // "<received_at_ms>_<id>", from next_cursor
    std::size_t sep = v->find('_');
    int64_t t = 0, id = 0;
    if (sep == std::string::npos || !parse_int(std::string_view(*v).substr(0, sep), t) ||
        !parse_int(std::string_view(*v).substr(sep + 1), id))
      return "cursor is malformed (use next_cursor from the previous page)";
    f.after_received_ms = t;
    f.after_id = id;
  }
  if (auto* v = req.param("total")) {
    if (*v == "estimate") f.total = queue::MessageFilter::Total::Estimate;
    else if (*v == "exact") f.total = queue::MessageFilter::Total::Exact;
    else if (*v != "none") return "total must be none, estimate or exact";
  }
  return {};
}

void write_summary(JsonWriter& w, const queue::MessageSummary& m) {
  w.StartObject();
  w.Key("id");
  w.Int64(m.id);
  put(w, "source", m.source);
  put(w, "sender", m.sender);
  put(w, "control_id", m.control_id);
  put(w, "type", m.message_type);
  put(w, "status", queue::status_name(m.status));
  if (!m.error.empty()) put(w, "error", m.error);
  if (!m.discard_reason.empty()) put(w, "discard_reason", m.discard_reason);
  put(w, "received_at", iso_utc(m.received_at_ms));
  if (m.completed_at_ms) put(w, "completed_at", iso_utc(*m.completed_at_ms));
  w.Key("attempts");
  w.Int(m.attempts);
  w.EndObject();
}

http::Response list_route(const Ctx& ctx, const http::Request& req, bool dead_letters) {
  queue::MessageFilter f;
  std::string error = parse_list_params(req, f);
  if (!error.empty()) return bad_request(error);
  if (dead_letters) {
    for (auto s : f.statuses)
      if (s != queue::InboxStatus::Failed && s != queue::InboxStatus::Rejected)
        return bad_request("dead letters are failed or rejected messages only");
    if (f.statuses.empty()) f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected};
  }
  queue::MessagePage page = ctx->inbox.query(f);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("messages");
  w.StartArray();
  for (const auto& m : page.rows) write_summary(w, m);
  w.EndArray();
  if (page.has_more && !page.rows.empty()) {
    const auto& last = page.rows.back();
    put(w, "next_cursor", std::to_string(last.received_at_ms) + "_" + std::to_string(last.id));
  }
  if (page.total) {
    w.Key("total");
    w.Int64(*page.total);
    w.Key("total_is_lower_bound");
    w.Bool(page.total_is_lower_bound);
  }
  w.EndObject();
  return json_response(200, buf);
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned char cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cont & 0x3Fu);
    }
    const uint32_t min_by_length[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_by_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

std::optional<int64_t> path_id(const http::Request& req) {
  int64_t id = 0;
  const std::string* text = req.path_param("id");
  if (!text || !parse_int(*text, id) || id <= 0) return std::nullopt;
  return id;
}

http::Response detail_route(const Ctx& ctx, const http::Request& req) {
  std::optional<queue::InboxRow> row;
  if (auto id = path_id(req)) row = ctx->inbox.get(*id);
  if (!row) return http::operation_outcome(404, "not-found", "No message with this id in the inbox");
  auto attempts = ctx->inbox.delivery_attempts(row->id);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.Int64(row->id);
  put(w, "source", row->source);
  put(w, "sender", row->sender);
  put(w, "control_id", row->control_id);
  put(w, "type", row->message_type);
  put(w, "content_type", row->content_type);
  put(w, "status", queue::status_name(row->status));
  put(w, "error", row->error);
  put(w, "received_at", iso_utc(row->received_at_ms));
  if (row->completed_at_ms) put(w, "completed_at", iso_utc(*row->completed_at_ms));
  w.Key("attempts");
  w.Int(row->attempts);
  if (row->status == queue::InboxStatus::Discarded) {
    put(w, "discard_reason", row->discard_reason);
    put(w, "discarded_by", row->discarded_by);
  }
  const bool text = valid_utf8(row->payload);
  put(w, "content_encoding", text ? "text" : "base64");
  put(w, "content", text ? row->payload : base64(row->payload));
  put(w, "ack", row->ack);
  w.Key("conversion");
  w.StartObject();
  put(w, "mapping_version", row->mapping_version);
  w.Key("resources");
  w.StartArray();
  for (const auto& r : row->resources) w.String(r.data(), static_cast<rapidjson::SizeType>(r.size()));
  w.EndArray();
  w.EndObject();
  w.Key("delivery_attempts");
  w.StartArray();
  for (const auto& a : attempts) {
    w.StartObject();
    put(w, "sink", a.sink);
    put(w, "at", iso_utc(a.at_ms));
    put(w, "outcome", queue::verdict_name(a.outcome));
    if (!a.error.empty()) put(w, "error", a.error);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, buf);
}

struct ReplayResult {
  std::string result;  // done, failed, requeued, retry, not_found, skipped_pending, ...
  std::string error;
};

ReplayResult replay_one(const Ctx& ctx, int64_t id, bool remap) {
  std::optional<queue::InboxRow> row = ctx->inbox.get(id);
  if (!row) return {"not_found", {}};
  switch (row->status) {
    case queue::InboxStatus::Pending: return {"skipped_pending", "still queued for conversion"};
    case queue::InboxStatus::Discarded: return {"skipped_discarded", "discarded by an operator"};
    case queue::InboxStatus::Rejected: {
      // Refused by its source when received: queue it for the worker, which converts it
      // like a new message (the sender was answered AE/AR at the time; see README).
      if (ctx->inbox.requeue_rejected(id) != queue::InboxStatus::Rejected) return {"conflict", "state changed"};
      if (ctx->pipeline) ctx->pipeline->notify();
      return {"requeued", {}};
    }
    case queue::InboxStatus::Done:
    case queue::InboxStatus::Failed: break;
  }
  if (!ctx->pipeline || !ctx->mappings) return {"unavailable", "replay needs the mapping tables and the pipeline"};
  std::shared_ptr<const mapping::CodeMaps> maps;
  std::string why;
  maps = remap ? ctx->mappings->current() : ctx->mappings->get(row->mapping_version, &why);
  if (!maps) return {"mapping_missing", why + "; replay with remap=true to use the current tables"};
  pipeline::ReplayOutcome out = ctx->pipeline->replay(*row, std::move(maps));
  using Result = pipeline::ReplayOutcome::Result;
  switch (out.result) {
    case Result::Done: return {"done", {}};
    case Result::Failed: return {"failed", out.error};
    case Result::Retry: return {"retry", out.error};
    case Result::NotReplayable: break;
  }
  return {"conflict", out.error};
}

// POST /api/messages/replay
http::Response replay_route(const Ctx& ctx, const http::Request& req) {
  if (ctx->shutting_down && ctx->shutting_down->load())
    return http::operation_outcome(503, "transient", "The gateway is stopping");
  rapidjson::Document body;
  body.Parse(req.body.data(), req.body.size());
  if (body.HasParseError() || !body.IsObject()) return bad_request("body must be a JSON object");
  bool remap = false;
  if (auto it = body.FindMember("remap"); it != body.MemberEnd()) {
    if (!it->value.IsBool()) return bad_request("remap must be true or false");
    remap = it->value.GetBool();
  }
  const auto ids_it = body.FindMember("ids");
  const auto filter_it = body.FindMember("filter");
  const bool has_ids = ids_it != body.MemberEnd(), has_filter = filter_it != body.MemberEnd();
  if (has_ids == has_filter) return bad_request("give either ids or filter");
  std::vector<int64_t> ids;
  if (has_ids) {
    if (!ids_it->value.IsArray() || ids_it->value.Empty()) return bad_request("ids must be a non-empty array");
    if (ids_it->value.Size() > kMaxReplayPerRequest) return bad_request("at most 500 ids per request");
    for (const auto& v : ids_it->value.GetArray()) {
      if (!v.IsInt64() || v.GetInt64() <= 0) return bad_request("ids must be positive integers");
      ids.push_back(v.GetInt64());
    }
  } else {
    if (!filter_it->value.IsObject()) return bad_request("filter must be an object");
    std::map<std::string, std::string, std::less<>> fields;
    for (const auto& m : filter_it->value.GetObject()) {
      if (!m.value.IsString()) return bad_request("filter values must be strings");
      fields.emplace(m.name.GetString(), m.value.GetString());
    }
    queue::MessageFilter f;
    std::string error = parse_filter([&fields](std::string_view k) -> const std::string* {
      auto it = fields.find(k);
      return it == fields.end() ? nullptr : &it->second;
    }, f);
    if (!error.empty()) return bad_request(error);
    // Without a status the filter selects dead letters: never every converted message.
    if (f.statuses.empty()) f.statuses = {queue::InboxStatus::Failed, queue::InboxStatus::Rejected};
    int64_t max = 100;
    if (auto it = body.FindMember("max"); it != body.MemberEnd()) {
      if (!it->value.IsInt64() || it->value.GetInt64() < 1 || it->value.GetInt64() > int64_t(kMaxReplayPerRequest))
        return bad_request("max must be 1 to 500");
      max = it->value.GetInt64();
    }
    // Collect the ids first: replayed rows change status and would shift a live page.
    f.limit = 200;
    while (ids.size() < static_cast<std::size_t>(max)) {
      queue::MessagePage page = ctx->inbox.query(f);
      for (const auto& m : page.rows)
        if (ids.size() < static_cast<std::size_t>(max)) ids.push_back(m.id);
      if (!page.has_more || page.rows.empty()) break;
      f.after_received_ms = page.rows.back().received_at_ms;
      f.after_id = page.rows.back().id;
    }
  }
  std::map<std::string, int64_t> counts;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("results");
  w.StartArray();
  for (int64_t id : ids) {
    ReplayResult r = replay_one(ctx, id, remap);
    ++counts[r.result];
    if (ctx->audit && r.result != "not_found")
      ctx->audit(req.principal, "message.replay", "inbox/" + std::to_string(id),
                 r.error.empty() ? r.result : r.result + ": " + r.error);
    w.StartObject();
    w.Key("id");
    w.Int64(id);
    put(w, "result", r.result);
    if (!r.error.empty()) put(w, "error", r.error);
    w.EndObject();
  }
  w.EndArray();
  w.Key("counts");
  w.StartObject();
  for (const auto& [k, v] : counts) {
    w.Key(k.c_str());
    w.Int64(v);
  }
  w.EndObject();
  w.EndObject();
  log::info("messages.replayed", {{"actor", req.principal}, {"rows", std::to_string(ids.size())}});
  return json_response(200, buf);
}

// POST /api/messages/{id}/discard
http::Response discard_route(const Ctx& ctx, const http::Request& req) {
  auto id = path_id(req);
  if (!id) return http::operation_outcome(404, "not-found", "No message with this id in the inbox");
  rapidjson::Document body;
  body.Parse(req.body.data(), req.body.size());
  if (body.HasParseError() || !body.IsObject()) return bad_request("body must be a JSON object with a reason");
  auto it = body.FindMember("reason");
  if (it == body.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0)
    return bad_request("a non-empty reason is required");
  if (it->value.GetStringLength() > 2000) return bad_request("reason is longer than 2000 characters");
  std::string reason(it->value.GetString(), it->value.GetStringLength());
  std::optional<queue::InboxStatus> before = ctx->inbox.discard(*id, reason, req.principal);
  if (!before) return http::operation_outcome(404, "not-found", "No message with this id in the inbox");
  if (*before != queue::InboxStatus::Failed && *before != queue::InboxStatus::Rejected)
    return http::operation_outcome(409, "conflict", "Only failed or rejected messages can be discarded");
  const std::string target = "inbox/" + std::to_string(*id);
  if (ctx->audit) ctx->audit(req.principal, "message.discard", target, reason);
  log::info("messages.discarded", {{"actor", req.principal}, {"inbox_id", std::to_string(*id)}});
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.Int64(*id);
  put(w, "status", "discarded");
  put(w, "previous_status", queue::status_name(*before));
  w.EndObject();
  return json_response(200, buf);
}

}  // namespace

void add_message_routes(http::HttpServer& server, MessageRoutesContext context) {
  using http::Role;
  auto ctx = std::make_shared<MessageRoutesContext>(std::move(context));
  server.route("GET", "/api/messages", Role::Operator,
               [ctx](const http::Request& req) { return list_route(ctx, req, false); });
  server.route("GET", "/api/deadletters", Role::Operator,
               [ctx](const http::Request& req) { return list_route(ctx, req, true); });
  server.route("GET", "/api/messages/{id}", Role::Operator,
               [ctx](const http::Request& req) { return detail_route(ctx, req); });
  server.route("POST", "/api/messages/replay", Role::Operator,
               [ctx](const http::Request& req) { return replay_route(ctx, req); });
  server.route("POST", "/api/messages/{id}/discard", Role::Operator,
               [ctx](const http::Request& req) { return discard_route(ctx, req); });
}

}  // namespace phrgate::daemon
