// IdentityLinker: the person index wired into the pipeline (a pipeline::PersonResolver). For
// each converted message it resolves the source Patient's key identifier and demographics:
//  * known, linked or new person -> the message is rewritten to that PHR person: every
//    resource's person_id, the Patient's id and every reference to it, and the Patient's
//    identifier list gets every source identifier linked to the person, so
//    Patient?identifier= with any of them finds the one Patient;
//  * held for review -> the message is held (its inbox row waits, failed with the reason) and
//    remembered under the review item, so deciding the review replays it (take_held()).
//  * ADT^A40 (a Patient written with a "replaced-by" link, from MRG): the prior identifier's
//    person is merged into the surviving one (index and, through the hook, the store), and the
//    prior Patient is not written again;
//  * ADT^A08/A31 for a known identifier: its link alone is re-evaluated against the new
//    demographics; when they now fit another person (or none), the identifier is moved and
//    the hook moves its records.
// Never logs demographics or identifiers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/identity/person_index.h"
#include "gateway/pipeline/person_resolver.h"

namespace phrgate::identity {

// What the store (and the inbox's other messages) must follow after an identity change.
struct IdentityEffects {
  // Every record of person `from` now belongs to `to` (merge).
  std::function<void(const std::string& from, const std::string& to)> persons_merged;
  // `identifier` left person `from` for person `to` (unlink, A08 re-evaluation).
  std::function<void(const SourceIdentifier& identifier, const std::string& from, const std::string& to)>
      identifier_moved;
};

class IdentityLinker final : public pipeline::PersonResolver {
 public:
  // `held_db_path`: where held messages are remembered (normally the index's own file).
  IdentityLinker(PersonIndex& index, const std::string& held_db_path, IdentityEffects effects = {});

  pipeline::PersonDecision resolve(pipeline::ConvertedMessage& message, int64_t inbox_id,
                                   std::string_view message_type) override;

  // The inbox rows held under `review_id`, forgotten once returned (the caller replays them).
  std::vector<int64_t> take_held(int64_t review_id);

 private:
  void merge_replaced_patients(pipeline::ConvertedMessage& m, const std::string& surviving);

  PersonIndex& index_;
  IdentityEffects effects_;
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
