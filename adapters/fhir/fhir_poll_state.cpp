// SQLite high-water marks for the fhir_poll source (see fhir_poll_state.h).
#include "adapters/fhir/fhir_poll_state.h"

#include "gateway/core/sqlite_db.h"

namespace phrgate::fhir {

FhirPollState::FhirPollState(const std::string& path) : db_(std::make_unique<sqlite::Db>(path)) {
  db_->exec(
      "CREATE TABLE IF NOT EXISTS high_water_mark ("
      " resource_type TEXT NOT NULL, patient TEXT NOT NULL, last_updated TEXT NOT NULL,"
      " boundary TEXT NOT NULL, PRIMARY KEY (resource_type, patient))");
}

FhirPollState::~FhirPollState() = default;

HighWaterMark FhirPollState::get(std::string_view type, std::string_view patient) const {
  sqlite::Stmt s(*db_, "SELECT last_updated, boundary FROM high_water_mark WHERE resource_type = ? AND patient = ?");
  s.bind(1, type).bind(2, patient);
  HighWaterMark m;
  if (!s.step()) return m;
  m.last_updated = s.column_text(0);
  const std::string_view b = s.column_text(1);
  std::size_t start = 0;
  while (start < b.size()) {
    std::size_t end = b.find('\n', start);
    if (end == std::string_view::npos) end = b.size();
    if (end > start) m.boundary.emplace_back(b.substr(start, end - start));
    start = end + 1;
  }
  return m;
}

void FhirPollState::put(std::string_view type, std::string_view patient, const HighWaterMark& mark) {
  std::string boundary;
  for (const auto& b : mark.boundary) boundary.append(b).push_back('\n');
  sqlite::Stmt s(*db_,
                 "INSERT INTO high_water_mark (resource_type, patient, last_updated, boundary) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT (resource_type, patient) DO UPDATE SET last_updated = excluded.last_updated,"
                 " boundary = excluded.boundary");
  s.bind(1, type).bind(2, patient).bind(3, mark.last_updated).bind(4, boundary);
  s.run();
}

}  // namespace phrgate::fhir
