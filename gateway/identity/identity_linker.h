// IdentityLinker: the person index wired into the pipeline (a pipeline::PersonResolver). For
// each converted message it resolves the source Patient's key identifier and demographics:
//  * known, linked or new person -> the message is rewritten to that PHR person: every
//    resource's person_id, the Patient's id and every reference to it, and the Patient's
//    identifier list gets every source identifier linked to the person, so
//    Patient?identifier= with any of them finds the one Patient;
//  * held for review -> the message is held (its inbox row waits, failed with the reason) and
//    remembered under the review item, so deciding the review replays it (take_held()).
// Never logs demographics or identifiers.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/identity/person_index.h"
#include "gateway/pipeline/person_resolver.h"

namespace phrgate::identity {

class IdentityLinker final : public pipeline::PersonResolver {
 public:
  // `held_db_path`: where held messages are remembered (normally the index's own file).
  IdentityLinker(PersonIndex& index, const std::string& held_db_path);

  pipeline::PersonDecision resolve(pipeline::ConvertedMessage& message, int64_t inbox_id) override;

  // The inbox rows held under `review_id`, forgotten once returned (the caller replays them).
  std::vector<int64_t> take_held(int64_t review_id);

 private:
  PersonIndex& index_;
  std::mutex mutex_;
  sqlite::Db db_;
};

// Rewrites a converted message from its source Patient id to `person_id` (ids and references).
// Exposed for tests.
void rewrite_person(pipeline::ConvertedMessage& message, const std::string& person_id);

// Adds to a Patient resource every (system, value) in `linked` it does not carry yet, in its
// JSON identifier list and its search identifiers. Returns true when something was added.
bool add_linked_identifiers(store::FhirResource& patient, const std::vector<LinkedIdentifier>& linked);

}  // namespace phrgate::identity
