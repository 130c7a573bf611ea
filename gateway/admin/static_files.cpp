// Serving the embedded dashboard files (see static_files.h).
#include "gateway/admin/static_files.h"

namespace phrgate::http {

Response dashboard_file(std::string_view name) {
  if (name.empty()) name = "index.html";
  for (const auto& f : embedded_dashboard_files()) {
    if (f.name != name) continue;
    Response r;
    r.content_type = std::string(f.content_type);
    r.body = std::string(f.body);
    r.headers.emplace_back("Content-Security-Policy", std::string(kDashboardCsp));
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  Response r = operation_outcome(404, "not-found", "no such dashboard file");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

void add_dashboard_routes(HttpServer& server) {
  server.route("GET", "/", Role::None, [](const Request&) { return dashboard_file(""); });
  server.route("GET", "/dashboard", Role::None, [](const Request&) { return dashboard_file(""); });
  server.route("GET", "/dashboard/{file}", Role::None,
               [](const Request& req) { return dashboard_file(req.path_params.at("file")); });
}

}  // namespace phrgate::http
