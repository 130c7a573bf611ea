// Tests of POST /ingest/ccda with real sockets on 127.0.0.1 and a real SQLite inbox in a
// temp dir: 202 only once the row is committed, duplicates, bad documents answered 400 with
// an OperationOutcome and kept as rejected rows, roles (401/403), 413, 415, and 503 when the
// inbox commit fails.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <atomic>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "adapters/ccda/ccda_http_ingest.h"
#include "gateway/admin/http_server.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"
#include "tests/adapters/ccda_intake/ccda_test_documents.h"
#include "tests/support/http_client.h"
#include "tests/support/source_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;

namespace {

constexpr const char* kIngest = "ingest-token-ccda-1";
constexpr const char* kReader = "reader-token-ccda-2";
constexpr const char* kAdmin = "admin-token-ccda-3";

struct Rig {
  explicit Rig(ccda::CcdaIngestOptions opt = {}) {
    inbox = open_failable_inbox(dir.file("inbox.db"), fail_commits);
    http::HttpServerOptions ho;
    ho.tokens = {{"emr-feed", sha256_hex(kIngest), http::Role::Ingest},
                 {"viewer", sha256_hex(kReader), http::Role::Reader},
                 {"root", sha256_hex(kAdmin), http::Role::Admin}};
    ho.max_body_bytes = 1u << 20;
    server = std::make_unique<http::HttpServer>(io, ho);
    ccda::add_ccda_ingest_routes(*server, *inbox, [this] { ++notified; }, std::move(opt));
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~Rig() {
    server->stop();
    io.stop();
    thread.join();
    inbox->flush();
  }

  HttpResult post(const std::string& body, const char* token = kIngest,
                  const std::string& content_type = "application/cda+xml") {
    HttpHeaders h{{"Content-Type", content_type}};
    if (token) h.emplace_back("Authorization", std::string("Bearer ") + token);
    return http_request("127.0.0.1", server->port(), "POST", "/ingest/ccda", body, h);
  }

  std::vector<queue::InboxRow> rows() {
    inbox->flush();
    std::vector<queue::InboxRow> out;
    for (int64_t id = 1;; ++id) {
      auto r = inbox->get(id);
      if (!r) break;
      out.push_back(std::move(*r));
    }
    return out;
  }

  TempDir dir;
  std::atomic<int> fail_commits{0};
  std::unique_ptr<queue::Inbox> inbox;
  std::atomic<int> notified{0};
  boost::asio::io_context io;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
};

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

void check_outcome(const HttpResult& r, int status, const std::string& code) {
  CHECK(r.status == status);
  auto d = parse(r.body);
  REQUIRE(d.HasMember("resourceType"));
  CHECK(std::string(d["resourceType"].GetString()) == "OperationOutcome");
  CHECK(std::string(d["issue"][0]["code"].GetString()) == code);
}

}  // namespace

TEST_CASE("ccda ingest: a good document is answered 202 only after its row is committed", "[ccda_intake]") {
  Rig rig;
  const std::string doc = ccda_docs::ccd("DOC-1");
  auto r = rig.post(doc);
  REQUIRE(r.status == 202);
  auto d = parse(r.body);
  CHECK(std::string(d["status"].GetString()) == "accepted");
  const int64_t id = d["inbox_id"].GetInt64();
  // The 202 came after the commit callback: the row is readable without a flush.
  auto row = rig.inbox->get(id);
  REQUIRE(row);
  CHECK(row->status == queue::InboxStatus::Pending);
  CHECK(row->content_type == "application/cda+xml");
  CHECK(row->control_id == "2.16.840.1.113883.19.5.99999.1^DOC-1");
  CHECK(row->sender == "2.16.840.1.113883.19.5.99999^INTAKE-HOSP");
  CHECK(row->message_type == "CCDA^34133-9");
  CHECK(row->source == "http-ccda");
  CHECK(row->payload == doc);
  CHECK(rig.notified == 1);
  CHECK(r.body.find("Intakeson") == std::string::npos);
}

TEST_CASE("ccda ingest: the same document id again is answered 200 with the first row's id", "[ccda_intake]") {
  Rig rig;
  auto first = rig.post(ccda_docs::ccd("DOC-2"));
  REQUIRE(first.status == 202);
  auto again = rig.post(ccda_docs::ccd("DOC-2"), kAdmin, "application/xml; charset=utf-8");
  REQUIRE(again.status == 200);
  auto a = parse(first.body), b = parse(again.body);
  CHECK(b["inbox_id"].GetInt64() == a["inbox_id"].GetInt64());
  CHECK(std::string(b["status"].GetString()) == "duplicate");
  CHECK(rig.rows().size() == 1);
  CHECK(rig.notified == 1);
  CHECK(rig.post(ccda_docs::ccd("DOC-3"), kIngest, "text/xml").status == 202);
  CHECK(rig.rows().size() == 2);
}

TEST_CASE("ccda ingest: bad documents get 400 with an OperationOutcome and are kept as rejected", "[ccda_intake]") {
  Rig rig;
  struct Case {
    const char* name;
    std::string body;
  };
  const Case cases[] = {{"XXE", ccda_docs::xxe()},
                        {"not XML", ccda_docs::not_xml()},
                        {"wrong namespace", ccda_docs::wrong_namespace()}};
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto r = rig.post(c.body);
      check_outcome(r, 400, "invalid");
      const std::string* id_header = r.header("X-Phrgate-Inbox-Id");
      REQUIRE(id_header);
      auto row = rig.inbox->get(std::stoll(*id_header));
      REQUIRE(row);
      CHECK(row->status == queue::InboxStatus::Rejected);
      CHECK_FALSE(row->error.empty());
      CHECK(row->payload == c.body);
      CHECK(row->control_id == "sha256:" + sha256_hex(c.body));
      CHECK(row->sender == "emr-feed");
      CHECK(row->content_type == "application/cda+xml");
      CHECK(rig.notified == 0);
      // Sent again: still 400, still one row.
      check_outcome(rig.post(c.body), 400, "invalid");
      CHECK(rig.rows().size() == 1);
      CHECK(r.body.find("passwd") == std::string::npos);
    }
  }
}

TEST_CASE("ccda ingest: tokens, media types and size", "[ccda_intake]") {
  ccda::CcdaIngestOptions opt;
  opt.check.max_bytes = 64 * 1024;
  Rig rig(opt);
  const std::string doc = ccda_docs::ccd("DOC-4");
  CHECK(rig.post(doc, nullptr).status == 401);
  CHECK(rig.post(doc, kReader).status == 403);
  check_outcome(rig.post(doc, kIngest, "application/json"), 415, "not-supported");
  check_outcome(rig.post(doc, kIngest, ""), 415, "not-supported");
  // Over the document cap (but under the server's body limit): 413, nothing kept.
  std::string big = doc;
  big.insert(big.find("</ClinicalDocument>"), "<!--" + std::string(70 * 1024, 'x') + "-->");
  check_outcome(rig.post(big), 413, "too-costly");
  // Over the server's body limit: 413 from the server itself.
  CHECK(rig.post(std::string((1u << 20) + 10, 'x')).status == 413);
  CHECK(rig.rows().empty());
  CHECK(rig.post(doc).status == 202);
}

TEST_CASE("ccda ingest: a failed inbox commit is answered 503 and the resend is accepted", "[ccda_intake][fault]") {
  Rig rig;
  rig.fail_commits = 1;
  const std::string doc = ccda_docs::ccd("DOC-5");
  check_outcome(rig.post(doc), 503, "transient");
  CHECK(rig.rows().empty());
  CHECK(rig.post(doc).status == 202);
  CHECK(rig.rows().size() == 1);
}
