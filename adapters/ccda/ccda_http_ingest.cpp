// Implementation of the C-CDA intake (see ccda_http_ingest.h): the document judgement shared
// with ccda_folder_source.cpp and the POST /ingest/ccda route. The route handler runs on an
// HTTP I/O thread and waits, bounded, for the inbox's commit callback (which runs on the
// inbox's thread); the callback co-owns its promise, so a late commit after a timeout is safe.
// Never echoes the document or its identifiers in an error answer; logs name the document id.
#include "adapters/ccda/ccda_http_ingest.h"

#include <libxml/tree.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <future>
#include <memory>
#include <optional>

#include "gateway/admin/http_server.h"
#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda {
namespace {

constexpr const char* kHl7Ns = "urn:hl7-org:v3";

bool is_v3(const xmlNode* n, const char* local) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         xmlStrEqual(n->ns->href, BAD_CAST kHl7Ns) && xmlStrEqual(n->name, BAD_CAST local);
}

const xmlNode* child(const xmlNode* parent, const char* local) {
  if (!parent) return nullptr;
  for (const xmlNode* c = parent->children; c; c = c->next)
    if (is_v3(c, local)) return c;
  return nullptr;
}

std::string attr(const xmlNode* n, const char* name) {
  if (!n) return {};
  xmlChar* v = xmlGetNoNsProp(const_cast<xmlNode*>(n), BAD_CAST name);
  if (!v) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

// "root^extension", or "root" alone; "" without a root.
std::string ii_key(const xmlNode* id) {
  std::string root = attr(id, "root"), ext = attr(id, "extension");
  if (root.empty()) return ext.empty() ? std::string() : "^" + ext;
  return ext.empty() ? root : root + "^" + ext;
}

http::Response json_answer(int status, int64_t inbox_id, std::string_view outcome) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("inbox_id");
  w.Int64(inbox_id);
  w.Key("status");
  w.String(outcome.data(), static_cast<rapidjson::SizeType>(outcome.size()));
  w.EndObject();
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string media_type(const std::string* header) {
  if (!header) return {};
  std::string t = header->substr(0, header->find(';'));
  std::string out;
  for (char c : t)
    if (c != ' ' && c != '\t') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

struct CommitOutcome {
  queue::SubmitResult result = queue::SubmitResult::Failed;
  int64_t id = 0;
};

http::Response ingest(queue::Inbox& inbox, const std::function<void()>& notify, const CcdaIngestOptions& opt,
                      const http::Request& req) {
  const std::string type = media_type(req.header("content-type"));
  if (type != "application/xml" && type != "text/xml" && type != kCcdaContentType)
    return http::operation_outcome(415, "not-supported",
                                   "Content-Type must be application/cda+xml, application/xml or text/xml");
  if (req.body.size() > opt.check.max_bytes)
    return http::operation_outcome(413, "too-costly", "The document is larger than this gateway accepts");

  CcdaIntakeVerdict verdict = judge_ccda_document(req.body, opt.check, opt.source_name, req.principal);
  const bool rejected = verdict.rejected();
  const std::string error = verdict.row.error;
  const std::string control_id = verdict.row.control_id;

  auto promise = std::make_shared<std::promise<CommitOutcome>>();
  std::future<CommitOutcome> committed = promise->get_future();
  inbox.submit(std::move(verdict.row), [promise, notify, rejected](queue::SubmitResult r, int64_t id) {
    if (r == queue::SubmitResult::Committed && !rejected && notify) notify();
    promise->set_value({r, id});
  });
  if (committed.wait_for(opt.commit_timeout) != std::future_status::ready) {
    log::error("ccda.commit_timeout", {{"source", opt.source_name}, {"control_id", rejected ? "" : control_id},
                                       {"action", "answered 503; the sender should resend"}});
    return http::operation_outcome(503, "transient", "The document could not be stored in time; send it again");
  }
  CommitOutcome out = committed.get();
  if (out.result == queue::SubmitResult::Failed) {
    log::error("ccda.commit_failed", {{"source", opt.source_name}, {"action", "answered 503; the sender should resend"}});
    return http::operation_outcome(503, "transient", "The document could not be stored; send it again");
  }
  const std::string inbox_id = std::to_string(out.id);
  if (rejected) {
    log::warn("ccda.rejected", {{"source", opt.source_name}, {"principal", req.principal}, {"inbox_id", inbox_id},
                                {"error", error}});
    http::Response r = http::operation_outcome(400, "invalid", error);
    r.headers.emplace_back("X-Phrgate-Inbox-Id", inbox_id);
    return r;
  }
  if (out.result == queue::SubmitResult::Duplicate) {
    log::info("ccda.duplicate", {{"source", opt.source_name}, {"control_id", control_id}, {"inbox_id", inbox_id}});
    return json_answer(200, out.id, "duplicate");
  }
  log::info("ccda.accepted", {{"source", opt.source_name}, {"control_id", control_id}, {"inbox_id", inbox_id},
                              {"principal", req.principal}});
  return json_answer(202, out.id, "accepted");
}

}  // namespace

CcdaHeader read_ccda_header(const xmlDoc* doc) {
  const xmlNode* root = xmlDocGetRootElement(const_cast<xmlDoc*>(doc));
  CcdaHeader h;
  if (!is_v3(root, "ClinicalDocument")) return h;
  h.document_id = ii_key(child(root, "id"));
  h.document_code = attr(child(root, "code"), "code");
  const xmlNode* org = child(child(child(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization");
  h.custodian = ii_key(child(org, "id"));
  return h;
}

CcdaIntakeVerdict judge_ccda_document(std::string_view xml, const CcdaCheckOptions& check,
                                      std::string_view source, std::string_view fallback_sender) {
  CcdaIntakeVerdict v;
  queue::InboxMessage& row = v.row;
  row.source.assign(source);
  row.content_type.assign(kCcdaContentType);
  row.payload.assign(xml);
  // check_ccda_document: size, secure parse, root element, XSD. Then the header is read
  // from a second secure parse (cheap next to the check; the check keeps its own document).
  std::optional<std::string> error = check_ccda_document(xml, check);
  std::optional<CcdaHeader> header;
  if (!error) {
    std::string parse_error;
    XmlDocPtr doc = parse_secure_xml(xml, XmlLimits{check.max_bytes, check.max_depth}, parse_error);
    if (doc) header = read_ccda_header(doc.get());
    else error = parse_error.empty() ? "the document could not be parsed" : parse_error;
  }
  if (error) {
    row.status = queue::InboxStatus::Rejected;
    row.error = *error;
    row.sender.assign(fallback_sender);
    row.control_id = "sha256:" + sha256_hex(xml);
    row.message_type = "CCDA";
    return v;
  }
  row.sender = header->custodian.empty() ? std::string(fallback_sender) : header->custodian;
  // No document id: key the row by its bytes, so a re-sent copy is still a duplicate.
  row.control_id = header->document_id.empty() ? "sha256:" + sha256_hex(xml) : header->document_id;
  row.message_type = "CCDA^" + header->document_code;
  return v;
}

void add_ccda_ingest_routes(http::HttpServer& server, queue::Inbox& inbox, std::function<void()> notify_pipeline,
                            CcdaIngestOptions options) {
  server.route("POST", "/ingest/ccda", http::Role::Ingest,
               [&inbox, notify = std::move(notify_pipeline), opt = std::move(options)](const http::Request& req) {
                 return ingest(inbox, notify, opt, req);
               });
}

}  // namespace phrgate::ccda
