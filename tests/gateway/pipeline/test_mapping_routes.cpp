// The mapping API over a real HTTP server on 127.0.0.1 (port 0) with the daemon's route set:
// roles (reader < operator < admin), GET /api/unmapped (order, filter, paging, bad paging),
// POST /api/mappings/reload (200 / 422 with file:line issues) and POST
// /api/messages/{id}/replay (200, 404, 409 for pending rows and missing snapshots).
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_server.h"
#include "gateway/core/resource_id.h"
#include "gateway/daemon/admin_routes.h"
#include "gateway/store/phr_store.h"
#include "tests/gateway/pipeline/pipeline_test_support.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kReader = "reader-token-1";
constexpr const char* kOperator = "operator-token-2";
constexpr const char* kAdmin = "admin-token-3";

struct Api {
  Api() {
    for (const auto& [name, text] : base_tables()) {
      fs::create_directories(fs::path(tables()) / fs::path(name).parent_path());
      write_text(tables() + "/" + name, text);
    }
    versions = std::make_unique<mapping::MappingVersions>(tables(), dir.file("mapping-versions"));
    REQUIRE(versions->reload().ok);
    queue::SqliteInboxOptions io_opts;
    io_opts.path = dir.file("inbox.db");
    inbox = queue::open_sqlite_inbox(io_opts);
    store = store::open_sqlite_store(dir.file("phr.db"));
    unmapped = std::make_unique<mapping::UnmappedCodeStore>(dir.file("unmapped.db"));
    hl7v2::register_hl7v2(registry);
    pipe = std::make_unique<pipeline::Pipeline>(*inbox, registry, std::vector<pipeline::Sink*>{&sink},
                                                std::map<std::string, pipeline::ConvertSettings>{},
                                                versions->current(), metrics, pipeline::PipelineOptions{});
    versions->subscribe([p = pipe.get()](const std::shared_ptr<const mapping::CodeMaps>& m) { p->set_code_maps(m); });
    ctx.reset(new daemon::AdminContext{*inbox, *store, metrics, no_sources, no_sinks, shutting_down});
    ctx->mappings = versions.get();
    ctx->unmapped = unmapped.get();
    ctx->pipeline = pipe.get();

    http::HttpServerOptions ho;
    ho.tokens = {{"r", sha256_hex(kReader), http::Role::Reader},
                 {"o", sha256_hex(kOperator), http::Role::Operator},
                 {"a", sha256_hex(kAdmin), http::Role::Admin}};
    server = std::make_unique<http::HttpServer>(io, ho);
    fhir = std::make_unique<admin::FhirReadApi>(*store, admin::FhirReadApiOptions{});
    daemon::add_admin_routes(*server, *ctx, *fhir);
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~Api() {
    server->stop();
    io.stop();
    thread.join();
  }
  std::string tables() const { return dir.file("tables"); }
  HttpResult call(const std::string& method, const std::string& target, const char* token) {
    return http_request("127.0.0.1", server->port(), method, target, {}, {{"Authorization", std::string("Bearer ") + token}});
  }
  int64_t submit(const std::string& control_id) {
    std::promise<int64_t> done;
    auto f = done.get_future();
    inbox->submit(hl7_row(control_id, oru(control_id, kLocalObx3)),
                  [&done](queue::SubmitResult, int64_t id) { done.set_value(id); });
    return f.get();
  }

  TempDir dir;
  std::unique_ptr<mapping::MappingVersions> versions;
  std::unique_ptr<queue::Inbox> inbox;
  std::unique_ptr<store::PhrStore> store;
  std::unique_ptr<mapping::UnmappedCodeStore> unmapped;
  metrics::Registry metrics;
  pipeline::Registry registry;
  CaptureSink sink;
  std::unique_ptr<pipeline::Pipeline> pipe;
  std::vector<std::unique_ptr<pipeline::Source>> no_sources;
  std::vector<std::unique_ptr<pipeline::Sink>> no_sinks;
  std::atomic<bool> shutting_down{false};
  std::unique_ptr<daemon::AdminContext> ctx;
  boost::asio::io_context io;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<admin::FhirReadApi> fhir;
  std::thread thread;
};

std::string first_issue_code(const HttpResult& r) {
  auto d = parse(r.body);
  return d["issue"][0]["code"].GetString();
}

}  // namespace

TEST_CASE("mapping routes: roles, unmapped listing, reload and replay", "[routes][mapping]") {
  Api api;
  api.unmapped->record({{"emr", "99LAB", "A", "Alpha", 5, 1714566896789, 1714566900000},
                        {"emr", "unit", "u", "", 2, 1000, 1000},
                        {"lab", "L", "X", "", 3, 1000, 1000}});

  SECTION("roles: a reader may not list, an operator may not reload") {
    CHECK(api.call("GET", "/api/unmapped", kReader).status == 403);
    CHECK(api.call("POST", "/api/mappings/reload", kOperator).status == 403);
    CHECK(api.call("POST", "/api/messages/1/replay", kReader).status == 403);
  }

  SECTION("GET /api/unmapped: sorted by count, filter by source, paging") {
    auto all = api.call("GET", "/api/unmapped", kOperator);
    REQUIRE(all.status == 200);
    auto d = parse(all.body);
    CHECK(d["total"].GetInt() == 3);
    REQUIRE(d["codes"].Size() == 3);
    const auto& top = d["codes"][0];
    CHECK(std::string(top["source"].GetString()) == "emr");
    CHECK(std::string(top["system"].GetString()) == "99LAB");
    CHECK(std::string(top["code"].GetString()) == "A");
    CHECK(std::string(top["display"].GetString()) == "Alpha");
    CHECK(top["count"].GetInt() == 5);
    CHECK(std::string(top["first_seen"].GetString()) == "2024-05-01T12:34:56.789Z");
    CHECK(std::string(top["last_seen"].GetString()) == "2024-05-01T12:35:00.000Z");
    CHECK(std::string(d["codes"][1]["code"].GetString()) == "X");

    auto emr = parse(api.call("GET", "/api/unmapped?source=emr&_count=1&_offset=1", kOperator).body);
    CHECK(emr["total"].GetInt() == 2);
    REQUIRE(emr["codes"].Size() == 1);
    CHECK(std::string(emr["codes"][0]["code"].GetString()) == "u");

    auto bad = api.call("GET", "/api/unmapped?_count=-1", kOperator);
    CHECK(bad.status == 400);
    CHECK(first_issue_code(bad) == "invalid");
    CHECK(api.call("GET", "/api/unmapped?_offset=x", kOperator).status == 400);
  }

  SECTION("POST /api/mappings/reload: 200 with versions, 422 with every file:line error") {
    const std::string before = api.versions->current()->version();
    write_text(api.tables() + "/local.csv", local_table(kLoincA));
    auto ok = api.call("POST", "/api/mappings/reload", kAdmin);
    REQUIRE(ok.status == 200);
    auto d = parse(ok.body);
    CHECK(std::string(d["previous_version"].GetString()) == before);
    const std::string after = d["version"].GetString();
    CHECK(after != before);
    CHECK(d["rows"].GetInt() == 5);

    write_text(api.tables() + "/bad1.csv", std::string(kHeader) + "99LAB,X\n");
    write_text(api.tables() + "/bad2.csv", "not,a,header\n");
    auto refused = api.call("POST", "/api/mappings/reload", kAdmin);
    REQUIRE(refused.status == 422);
    auto oo = parse(refused.body);
    CHECK(std::string(oo["resourceType"].GetString()) == "OperationOutcome");
    REQUIRE(oo["issue"].Size() >= 2);
    std::string all;
    for (const auto& issue : oo["issue"].GetArray()) all += std::string(issue["diagnostics"].GetString()) + "\n";
    CHECK(all.find("bad1.csv:2:") != std::string::npos);
    CHECK(all.find("bad2.csv:1:") != std::string::npos);
    CHECK(api.versions->current()->version() == after);  // still in force
  }

  SECTION("POST /api/messages/{id}/replay") {
    CHECK(api.call("POST", "/api/messages/999/replay", kOperator).status == 404);
    CHECK(api.call("POST", "/api/messages/abc/replay", kOperator).status == 404);
    const int64_t id = api.submit("Q1");
    auto pending = api.call("POST", "/api/messages/" + std::to_string(id) + "/replay", kOperator);
    CHECK(pending.status == 409);
    api.pipe->run_until_idle();
    const std::string version = api.versions->current()->version();

    auto r = api.call("POST", "/api/messages/" + std::to_string(id) + "/replay", kOperator);
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    CHECK(d["id"].GetInt64() == id);
    CHECK(std::string(d["mapping_version"].GetString()) == version);
    CHECK(std::string(d["status"].GetString()) == "done");
    CHECK(api.call("POST", "/api/messages/" + std::to_string(id) + "/replay?remap=maybe", kOperator).status == 400);

    // A row recorded with a version whose snapshot is gone: 409 saying so; remap still works.
    const int64_t orphan = api.submit("Q2");
    REQUIRE(api.inbox->fetch_pending(10).size() == 1);
    api.inbox->complete(orphan, queue::InboxStatus::Done, "", "0123456789ab");
    auto missing = api.call("POST", "/api/messages/" + std::to_string(orphan) + "/replay", kOperator);
    CHECK(missing.status == 409);
    CHECK(parse(missing.body)["issue"][0]["diagnostics"].GetString() ==
          std::string("no snapshot of mapping version 0123456789ab (expected in mapping-versions/0123456789ab);"
                      " replay with remap=true to use the current tables"));
    auto remap = api.call("POST", "/api/messages/" + std::to_string(orphan) + "/replay?remap=true", kOperator);
    REQUIRE(remap.status == 200);
    CHECK(std::string(parse(remap.body)["mapping_version"].GetString()) == version);
    CHECK(api.inbox->get(orphan)->mapping_version == version);
  }
}
