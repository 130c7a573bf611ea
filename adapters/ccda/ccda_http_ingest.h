// C-CDA intake shared by POST /ingest/ccda and the "ccda_folder" source: checks a document
// (check_ccda_document: size, XML security, namespace, optional XSD), reads its header (id,
// code, custodian) and builds the inbox row: Pending when good, Rejected with the error when
// bad (the original is always kept for an operator). Never logs or answers with document
// content: errors and logs carry the document id at most, never names or patient ids.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/ccda/secure_xml.h"
#include "gateway/queue/inbox.h"

namespace phrgate::http {
class HttpServer;
}

namespace phrgate::ccda {

inline constexpr std::string_view kCcdaContentType = "application/cda+xml";

// What the intakes need from a document's header (all from the ClinicalDocument element).
struct CcdaHeader {
  std::string document_id;    // id/@root^@extension, or @root alone; "" when absent
  std::string document_code;  // code/@code, e.g. "34133-9"; "" when absent
  std::string custodian;      // custodian/.../representedCustodianOrganization/id, same form
};

// Reads the header of a parsed document; empty fields when the root is not a ClinicalDocument.
CcdaHeader read_ccda_header(const xmlDoc* doc);

// The verdict on one received document and the inbox row that keeps it.
struct CcdaIntakeVerdict {
  queue::InboxMessage row;  // status Pending, or Rejected with row.error set
  bool rejected() const { return row.status == queue::InboxStatus::Rejected; }
};

// Judges `xml`: a good document becomes a Pending row keyed by its document id (control_id)
// and custodian (sender; `fallback_sender` when the document names none) with message_type
// "CCDA^<code>". A bad one becomes a Rejected row keyed "sha256:<hex of the bytes>" (so a
// re-send is a duplicate), sender `fallback_sender`, message_type "CCDA", error = why.
// The payload is always the bytes exactly as received.
CcdaIntakeVerdict judge_ccda_document(std::string_view xml, const CcdaCheckOptions& check,
                                      std::string_view source, std::string_view fallback_sender);

struct CcdaIngestOptions {
  // Inbox rows' `source` (the pipeline's per-source settings key); not a configured source.
  std::string source_name = "http-ccda";
  // check.max_bytes: larger bodies get 413 and are not kept (the HTTP server's own
  // max_body_bytes answers 413 before the handler for even larger ones).
  // check.schema_path: a CDA XSD every document must validate against ("" : none).
  CcdaCheckOptions check;
  // How long the handler waits for the inbox commit before answering 503 (the row may still
  // commit: the sender's retry is then answered 200 as a duplicate).
  std::chrono::milliseconds commit_timeout{10'000};
};

// Registers POST /ingest/ccda (Role::Ingest: "ingest" tokens and admin) on `server`:
//   Content-Type application/xml, text/xml or application/cda+xml (else 415);
//   202 {"inbox_id":N,"status":"accepted"} once the row is durable (Committed);
//   200 {"inbox_id":N,"status":"duplicate"} when that document id was received before;
//   400 OperationOutcome for a bad document, which is kept as a Rejected row;
//   413 over check.max_bytes; 503 when the inbox commit fails or times out.
// Handlers are synchronous on an I/O thread: the handler waits (bounded by commit_timeout)
// for the inbox's group commit, a few milliseconds normally. `notify_pipeline` runs on the
// inbox's thread after a new Pending row committed. `inbox` must outlive the server.
void add_ccda_ingest_routes(http::HttpServer& server, queue::Inbox& inbox,
                            std::function<void()> notify_pipeline, CcdaIngestOptions options);

}  // namespace phrgate::ccda
