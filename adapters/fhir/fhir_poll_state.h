// FhirPollState: the fhir_poll source's durable high-water marks, one per (resource type,
// patient id on the server), in a small SQLite file (WAL, synchronous=FULL).
// Invariants: a mark is only written after every page fetched up to it is committed to the
// inbox, so a crash at any point restarts the search from an older mark (refetching is safe:
// resources at the mark already committed are skipped by their (id, versionId) kept in
// `boundary`, and identical pages are inbox duplicates). Used only by the poll thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::sqlite {
class Db;
}

namespace phrgate::fhir {

struct HighWaterMark {
  std::string last_updated;           // the greatest meta.lastUpdated committed ("" = never polled)
  std::vector<std::string> boundary;  // "Type/id/versionId" of committed resources at last_updated
};

class FhirPollState {
 public:
  // Opens or creates the file; throws sqlite::SqliteError or std::runtime_error.
  explicit FhirPollState(const std::string& path);
  ~FhirPollState();
  FhirPollState(const FhirPollState&) = delete;
  FhirPollState& operator=(const FhirPollState&) = delete;

  HighWaterMark get(std::string_view type, std::string_view patient) const;
  // Durable before it returns.
  void put(std::string_view type, std::string_view patient, const HighWaterMark& mark);

 private:
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace phrgate::fhir
