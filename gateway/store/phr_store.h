// PhrStore: the embedded PHR store, the persons' FHIR R4 records.
// Invariants:
//  * A resource is identified by (type, id); ids are derived from source identifiers by the
//    converters, so writing the same record again updates it instead of duplicating it.
//  * Writing identical content again is a no-op (no new version); changed content bumps
//    meta.versionId, and the previous version is kept in history.
//  * Every resource belongs to exactly one person (person_id == the id of the person's
//    Patient resource).
//  * write() is one transaction: all resources of a message or none.
// Crash recovery: every write() is a single SQLite transaction (WAL, synchronous=FULL), so after
// a crash the store holds either all of a call's resources or none; a replay of the same
// message then finds identical content and changes nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::store {

// One FHIR resource as produced by a converter. `json` is the resource without `meta`
// (the store adds meta.versionId and meta.lastUpdated when it serves it).
struct FhirResource {
  std::string type;       // "Patient", "Observation", ...
  std::string id;         // FHIR id
  std::string person_id;  // id of the owning person's Patient resource
  std::string json;       // the resource, serialized, starting with '{'
  // Identifiers for search: (system, value) pairs taken from Resource.identifier.
  std::vector<std::pair<std::string, std::string>> identifiers;
  // Conditional create: write only when no resource with this (type, id) exists yet; an
  // existing one is left as it is (e.g. the Patient of a lab result never overwrites the
  // demographics an ADT feed recorded).
  bool only_if_absent = false;
};

struct StoredResource {
  std::string type;
  std::string id;
  std::string person_id;
  int64_t version = 0;
  std::string last_updated;  // FHIR instant
  std::string json;          // with "meta" spliced in
};

struct WriteStats {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
  int deleted = 0;            // resources an earlier document version contributed, now dropped
  bool older_version = false;  // write_document(): a newer version is stored; nothing written
};

// Resource types shared between documents and feeds (the person, the people and places that
// appear in many records): write_document() never deletes them.
bool is_shared_resource_type(std::string_view type);

struct SearchPage {
  std::vector<StoredResource> resources;
  int64_t total = 0;
};

class PhrStore {
 public:
  virtual ~PhrStore() = default;
  virtual WriteStats write(const std::vector<FhirResource>& resources) = 0;
  // The same, for resources gathered from several messages (one transaction for a whole
  // pipeline batch, without copying the resources). Later entries win over earlier ones.
  virtual WriteStats write_all(const std::vector<const FhirResource*>& resources) = 0;
  // A document that replaces earlier versions of itself (C-CDA setId + versionNumber), in one
  // transaction: when a newer version of `document_set` is already stored, nothing is written
  // (older_version). Otherwise the resources are written as write() does, and what earlier
  // versions of the set contributed and this version no longer holds is deleted (kept in
  // history), except shared types and resources another document set still contributes.
  virtual WriteStats write_document(std::string_view document_set, int64_t version,
                                    const std::vector<const FhirResource*>& resources) = 0;
  // Identity: every resource of person `from` moves to person `to` (a new version each, the
  // old one in history; references to Patient/<from> now name Patient/<to>); the identifiers
  // of Patient/<from> join Patient/<to>, and Patient/<from> is deleted (its history kept).
  // One transaction. Returns the number of resources moved.
  virtual int64_t reassign_person(std::string_view from, std::string_view to) = 0;
  // Identity: removes (system, value) from Patient/<person>'s identifiers (a new version).
  // Returns false when the Patient or the identifier is not there.
  virtual bool remove_patient_identifier(std::string_view person, const std::string& system,
                                         const std::string& value) = 0;
  // A deleted resource reads as absent; was_deleted() tells it from one never stored (410).
  virtual bool was_deleted(std::string_view type, std::string_view id) = 0;
  virtual std::optional<StoredResource> read(std::string_view type, std::string_view id) = 0;
  // Patients having an identifier (system may be empty: match value under any system).
  virtual SearchPage find_patients_by_identifier(std::string_view system,
                                                 std::string_view value, int64_t offset,
                                                 int64_t count) = 0;
  // Patients having an identifier whose system is exactly `system`; an empty `system` matches
  // only identifiers stored without a system (FHIR token search "|value").
  virtual SearchPage find_patients_by_exact_identifier(std::string_view system,
                                                       std::string_view value, int64_t offset,
                                                       int64_t count) = 0;
  // Resources of one type owned by a person, ordered by type then id (an empty `type` means
  // every type). A count of 0 returns only the total.
  virtual SearchPage find_by_person(std::string_view person_id, std::string_view type,
                                    int64_t offset, int64_t count) = 0;
  // Every resource of a person (the Patient first), for $everything.
  virtual SearchPage everything(std::string_view person_id, int64_t offset, int64_t count) = 0;
  virtual int64_t count_resources() = 0;
  // Every version of a resource, the current one first (newest first); empty when unknown.
  // For a deleted resource: its versions up to the deletion.
  virtual std::vector<StoredResource> history(std::string_view type, std::string_view id) = 0;
};

// Opens (creating if needed) the SQLite store at `path`. Thread-safe: each thread gets its own
// connection; writes are serialized by SQLite (WAL, busy timeout).
std::unique_ptr<PhrStore> open_sqlite_store(const std::string& path);

}  // namespace phrgate::store
