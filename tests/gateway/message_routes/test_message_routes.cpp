// GET /api/messages, /api/deadletters, /api/messages/{id}, POST /api/messages/replay and
// /api/messages/{id}/discard over real HTTP with a real inbox, pipeline and HL7 v2 converter:
// roles (401/403), filters and cursor paging, patient search, detail with delivery attempts,
// discard (reason required, audit hook), replay by ids (rejected rows requeued) and by filter.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/admin/http_server.h"
#include "gateway/core/metrics.h"
#include "gateway/core/resource_id.h"
#include "gateway/daemon/message_routes.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/pipeline/pipeline.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kReader = "reader-token-1";
constexpr const char* kOperator = "operator-token-2";

struct AuditEntry {
  std::string actor, action, target, detail;
};

struct Api {
  Api() {
    for (const auto& [name, text] : base_tables()) {
      fs::create_directories(fs::path(dir.file("tables")) / fs::path(name).parent_path());
      write_text(dir.file("tables") + "/" + name, text);
    }
    versions = std::make_unique<mapping::MappingVersions>(dir.file("tables"), dir.file("mapping-versions"));
    REQUIRE(versions->reload().ok);
    queue::SqliteInboxOptions io_opts;
    io_opts.path = dir.file("inbox.db");
    inbox = queue::open_sqlite_inbox(io_opts);
    hl7v2::register_hl7v2(registry);
    pipe = std::make_unique<pipeline::Pipeline>(*inbox, registry, std::vector<pipeline::Sink*>{&sink},
                                                std::map<std::string, pipeline::ConvertSettings>{},
                                                versions->current(), metrics, pipeline::PipelineOptions{});
    http::HttpServerOptions ho;
    ho.tokens = {{"r", sha256_hex(kReader), http::Role::Reader}, {"o", sha256_hex(kOperator), http::Role::Operator}};
    server = std::make_unique<http::HttpServer>(io, ho);
    daemon::add_message_routes(*server, {*inbox, pipe.get(), versions.get(), &shutting_down,
                                         [this](std::string_view a, std::string_view b, std::string_view c,
                                                std::string_view d) {
                                           std::lock_guard lock(audit_mutex);
                                           audit.push_back({std::string(a), std::string(b), std::string(c), std::string(d)});
                                         }});
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~Api() {
    server->stop();
    io.stop();
    thread.join();
  }
  HttpResult call(const std::string& method, const std::string& target, const char* token = kOperator,
                  std::string body = {}) {
    HttpHeaders headers;
    if (token) headers.push_back({"Authorization", std::string("Bearer ") + token});
    return http_request("127.0.0.1", server->port(), method, target, std::move(body), headers);
  }
  int64_t submit(queue::InboxMessage m) {
    std::promise<int64_t> done;
    auto f = done.get_future();
    inbox->submit(std::move(m), [&done](queue::SubmitResult, int64_t id) { done.set_value(id); });
    return f.get();
  }
  std::vector<AuditEntry> audit_entries() {
    std::lock_guard lock(audit_mutex);
    return audit;
  }

  TempDir dir;
  std::unique_ptr<mapping::MappingVersions> versions;
  std::unique_ptr<queue::Inbox> inbox;
  metrics::Registry metrics;
  pipeline::Registry registry;
  // Rejects the message whose control id is "BAD".
  CaptureSink sink{"capture", [](const pipeline::Delivery& d) {
                     return *d.control_id == "BAD" ? pipeline::DeliveryStatus::Reject
                                                   : pipeline::DeliveryStatus::Delivered;
                   }};
  std::unique_ptr<pipeline::Pipeline> pipe;
  std::atomic<bool> shutting_down{false};
  std::mutex audit_mutex;
  std::vector<AuditEntry> audit;
  boost::asio::io_context io;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
};

std::vector<int64_t> ids_in(const rapidjson::Document& d) {
  std::vector<int64_t> out;
  for (const auto& m : d["messages"].GetArray()) out.push_back(m["id"].GetInt64());
  return out;
}

}  // namespace

TEST_CASE("message routes: roles, browse, detail, discard, replay", "[routes][messages]") {
  Api api;
  int64_t ok1 = api.submit(hl7_row("OK1", oru("OK1", kLocalObx3)));
  int64_t bad = api.submit(hl7_row("BAD", oru("BAD", kLocalObx3)));
  int64_t ok2 = api.submit(hl7_row("OK2", oru("OK2", kLocalObx3)));
  queue::InboxMessage refused = hl7_row("REF", oru("REF", kLocalObx3));
  refused.status = queue::InboxStatus::Rejected;
  refused.error = "unsupported at the time";
  int64_t rejected = api.submit(refused);
  queue::InboxMessage binary = hl7_row("BIN", std::string("\xff\xfe", 2));
  binary.status = queue::InboxStatus::Rejected;
  int64_t bin = api.submit(binary);
  REQUIRE(api.pipe->run_until_idle() == 3);
  REQUIRE(api.inbox->get(bad)->status == queue::InboxStatus::Failed);

  SECTION("401 without a token, 403 for a reader") {
    CHECK(api.call("GET", "/api/messages", nullptr).status == 401);
    CHECK(api.call("GET", "/api/messages", kReader).status == 403);
    CHECK(api.call("GET", "/api/deadletters", kReader).status == 403);
    CHECK(api.call("GET", "/api/messages/1", kReader).status == 403);
    CHECK(api.call("POST", "/api/messages/replay", kReader, R"({"ids":[1]})").status == 403);
    CHECK(api.call("POST", "/api/messages/1/discard", kReader, R"({"reason":"x"})").status == 403);
    CHECK(api.audit_entries().empty());
  }

  SECTION("list: newest first, cursor paging, filters, totals, bad parameters") {
    auto all = parse(api.call("GET", "/api/messages").body);
    CHECK(ids_in(all) == std::vector<int64_t>{bin, rejected, ok2, bad, ok1});
    auto page1 = api.call("GET", "/api/messages?limit=2&total=exact");
    REQUIRE(page1.status == 200);
    auto d1 = parse(page1.body);
    CHECK(ids_in(d1) == std::vector<int64_t>{bin, rejected});
    CHECK(d1["total"].GetInt64() == 5);
    std::string cursor = d1["next_cursor"].GetString();
    auto d2 = parse(api.call("GET", "/api/messages?limit=2&cursor=" + cursor).body);
    CHECK(ids_in(d2) == std::vector<int64_t>{ok2, bad});
    auto d3 = parse(api.call("GET", "/api/messages?limit=2&cursor=" + std::string(d2["next_cursor"].GetString())).body);
    CHECK(ids_in(d3) == std::vector<int64_t>{ok1});
    CHECK_FALSE(d3.HasMember("next_cursor"));

    CHECK(ids_in(parse(api.call("GET", "/api/messages?status=done").body)) == std::vector<int64_t>{ok2, ok1});
    CHECK(ids_in(parse(api.call("GET", "/api/messages?control_id=BAD").body)) == std::vector<int64_t>{bad});
    CHECK(ids_in(parse(api.call("GET", "/api/messages?sender=LAB%5ETEST_HOSP&type=ORU%5ER01&source=emr&status=done,failed").body)) ==
          std::vector<int64_t>{ok2, bad, ok1});
    CHECK(ids_in(parse(api.call("GET", "/api/messages?since=2000-01-01&until=2999-01-01T00:00:00.000Z").body)).size() == 5);
    CHECK(ids_in(parse(api.call("GET", "/api/messages?until=2000-01-01T00:00:00Z").body)).empty());
    // The converted Patient's identifier (PID-3 of the OK1 message), with and without a system.
    CHECK(ids_in(parse(api.call("GET", "/api/messages?patient=MRN-OK1").body)) == std::vector<int64_t>{ok1});
    CHECK(ids_in(parse(api.call("GET", "/api/messages?patient=no-such-system%7CMRN-OK1").body)).empty());

    CHECK(api.call("GET", "/api/messages?status=bogus").status == 400);
    CHECK(api.call("GET", "/api/messages?limit=0").status == 400);
    CHECK(api.call("GET", "/api/messages?cursor=zz").status == 400);
    CHECK(api.call("GET", "/api/messages?since=yesterday").status == 400);
    CHECK(api.call("GET", "/api/messages?total=maybe").status == 400);
    CHECK(api.call("GET", "/api/deadletters?status=done").status == 400);
  }

  SECTION("detail: columns, content, conversion, delivery attempts") {
    auto r = api.call("GET", "/api/messages/" + std::to_string(ok1));
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    CHECK(std::string(d["status"].GetString()) == "done");
    CHECK(std::string(d["content_encoding"].GetString()) == "text");
    CHECK(std::string(d["content"].GetString()) == oru("OK1", kLocalObx3));
    bool has_patient = false;
    for (const auto& res : d["conversion"]["resources"].GetArray())
      has_patient = has_patient || std::string(res.GetString()).rfind("Patient/", 0) == 0;
    CHECK(has_patient);
    REQUIRE(d["delivery_attempts"].Size() == 1);
    CHECK(std::string(d["delivery_attempts"][0]["sink"].GetString()) == "capture");
    CHECK(std::string(d["delivery_attempts"][0]["outcome"].GetString()) == "delivered");
    auto failed = parse(api.call("GET", "/api/messages/" + std::to_string(bad)).body);
    CHECK(std::string(failed["delivery_attempts"][0]["outcome"].GetString()) == "reject");
    auto b = parse(api.call("GET", "/api/messages/" + std::to_string(bin)).body);
    CHECK(std::string(b["content_encoding"].GetString()) == "base64");
    CHECK(std::string(b["content"].GetString()) == "//4=");
    CHECK(api.call("GET", "/api/messages/999999").status == 404);
    CHECK(api.call("GET", "/api/messages/abc").status == 404);
  }

  SECTION("dead letters, discard with a reason, replay by ids and by filter") {
    CHECK(ids_in(parse(api.call("GET", "/api/deadletters").body)) == std::vector<int64_t>{bin, rejected, bad});
    std::string discard = "/api/messages/" + std::to_string(bad) + "/discard";
    CHECK(api.call("POST", discard, kOperator, "{}").status == 400);
    CHECK(api.call("POST", discard, kOperator, R"({"reason":""})").status == 400);
    CHECK(api.call("POST", "/api/messages/" + std::to_string(ok1) + "/discard", kOperator, R"({"reason":"x"})").status == 409);
    auto discarded = api.call("POST", discard, kOperator, R"({"reason":"sent twice by the lab"})");
    REQUIRE(discarded.status == 200);
    CHECK(std::string(parse(discarded.body)["previous_status"].GetString()) == "failed");
    auto audit = api.audit_entries();
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].actor == "o");
    CHECK(audit[0].action == "message.discard");
    CHECK(audit[0].target == "inbox/" + std::to_string(bad));
    CHECK(audit[0].detail == "sent twice by the lab");
    CHECK(ids_in(parse(api.call("GET", "/api/deadletters").body)) == std::vector<int64_t>{bin, rejected});

    // A rejected row is requeued and converted by the worker; a discarded one is skipped.
    auto replay = api.call("POST", "/api/messages/replay", kOperator,
                           "{\"ids\":[" + std::to_string(rejected) + "," + std::to_string(bad) + ",999999]}");
    REQUIRE(replay.status == 200);
    auto rd = parse(replay.body);
    CHECK(std::string(rd["results"][0]["result"].GetString()) == "requeued");
    CHECK(std::string(rd["results"][1]["result"].GetString()) == "skipped_discarded");
    CHECK(std::string(rd["results"][2]["result"].GetString()) == "not_found");
    CHECK(api.pipe->run_until_idle() == 1);
    CHECK(api.inbox->get(rejected)->status == queue::InboxStatus::Done);
    CHECK(api.audit_entries().size() == 3);  // discard + two replays (not the unknown id)

    // By filter: the two newest done rows of this sender, converted and delivered again.
    int calls_before = api.sink.calls();
    auto by_filter = api.call("POST", "/api/messages/replay", kOperator,
                              R"({"filter":{"status":"done","sender":"LAB^TEST_HOSP"},"max":2})");
    REQUIRE(by_filter.status == 200);
    auto fd = parse(by_filter.body);
    REQUIRE(fd["results"].Size() == 2);
    CHECK(fd["results"][0]["id"].GetInt64() == rejected);
    CHECK(fd["results"][1]["id"].GetInt64() == ok2);
    CHECK(std::string(fd["results"][0]["result"].GetString()) == "done");
    CHECK(fd["counts"]["done"].GetInt64() == 2);
    CHECK(api.sink.calls() == calls_before + 2);
    auto entries = api.audit_entries();
    REQUIRE(entries.size() == 5);
    CHECK(entries[4].action == "message.replay");
    CHECK(entries[4].target == "inbox/" + std::to_string(ok2));
    CHECK(entries[4].detail == "done");
    CHECK(api.inbox->delivery_attempts(ok2).size() == 2);  // the worker's and the replay's

    CHECK(api.call("POST", "/api/messages/replay", kOperator, R"({"ids":[1],"filter":{}})").status == 400);
    CHECK(api.call("POST", "/api/messages/replay", kOperator, R"({"ids":[]})").status == 400);
    CHECK(api.call("POST", "/api/messages/replay", kOperator, R"({"filter":{},"max":501})").status == 400);
    CHECK(api.call("POST", "/api/messages/replay", kOperator, "not json").status == 400);
    api.shutting_down = true;
    CHECK(api.call("POST", "/api/messages/replay", kOperator, R"({"ids":[1]})").status == 503);
  }
}
