// The message browser and dead-letter API for operators (Role::Operator), registered by
// add_admin_routes with one call:
//   GET  /api/messages?control_id=&sender=&type=&status=&source=&since=&until=&patient=
//                     &limit=&cursor=&total=estimate|exact      newest first, keyset paging
//   GET  /api/deadletters?...same...                             Failed and Rejected rows
//   GET  /api/messages/{id}        every column, content, ACK, conversion, delivery attempts
//   POST /api/messages/replay      {"ids":[...]} or {"filter":{...},"max":N}, "remap":bool
//   POST /api/messages/{id}/discard  {"reason":"..."}
// Replay: Done/Failed rows are converted and delivered again (Pipeline::replay, the row's
// mapping version or remap=true for the current one); a Rejected row (refused by its source
// when received, e.g. unparseable or an unsupported type) is made pending again so the worker
// converts it: the operator asks for it explicitly after fixing the cause, and the sender was
// already answered AE/AR, so nothing is acknowledged twice. Pending and Discarded rows are
// skipped. A filter without a status selects dead letters only, never every message.
// Every replay and discard calls the audit hook once per message. Error texts never echo
// message content, identifiers or filter values (PHI).
#pragma once

#include <atomic>
#include <functional>
#include <string_view>

#include "gateway/admin/http_server.h"
#include "gateway/queue/inbox.h"

namespace phrgate::mapping {
class MappingVersions;
}
namespace phrgate::pipeline {
class Pipeline;
}

namespace phrgate::daemon {

// actor: the request's principal; action: "message.replay" or "message.discard";
// target: "inbox/<id>"; detail: the outcome, or the discard reason.
using MessageAuditHook = std::function<void(std::string_view actor, std::string_view action,
                                            std::string_view target, std::string_view detail)>;

struct MessageRoutesContext {
  queue::Inbox& inbox;
  // Replay of Done/Failed rows needs both; without them those rows answer "unavailable"
  // (Rejected rows are still requeued).
  pipeline::Pipeline* pipeline = nullptr;
  mapping::MappingVersions* mappings = nullptr;
  const std::atomic<bool>* shutting_down = nullptr;
  MessageAuditHook audit;  // empty: no audit trail
};

// The most rows one replay request may name or select (each is converted and delivered
// synchronously on an HTTP thread).
inline constexpr std::size_t kMaxReplayPerRequest = 500;

void add_message_routes(http::HttpServer& server, MessageRoutesContext ctx);

}  // namespace phrgate::daemon
