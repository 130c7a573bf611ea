// Implementation of the identity linker (see identity_linker.h).
#include "gateway/identity/identity_linker.h"

#include "gateway/identity/demographics.h"
#include "gateway/store/patient_identifiers.h"

namespace phrgate::identity {
namespace {

constexpr const char* kHeldSchema = R"sql(
CREATE TABLE IF NOT EXISTS held_messages(
  review_id INTEGER NOT NULL,
  inbox_id  INTEGER NOT NULL,
  PRIMARY KEY(review_id, inbox_id)) WITHOUT ROWID;
)sql";

store::FhirResource* source_patient(pipeline::ConvertedMessage& m) {
  for (auto& r : m.resources)
    if (r.type == "Patient" && r.id == m.person_id) return &r;
  return nullptr;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

}  // namespace

void rewrite_person(pipeline::ConvertedMessage& m, const std::string& person_id) {
  const std::string old = m.person_id;
  if (old == person_id) return;
  for (auto& r : m.resources) {
    // Ids are UUID-shaped hashes: the old id appears only where it means the Patient.
    replace_all(r.json, old, person_id);
    if (r.type == "Patient" && r.id == old) r.id = person_id;
    if (r.person_id == old || r.person_id.empty()) r.person_id = person_id;
  }
  m.person_id = person_id;
}

bool add_linked_identifiers(store::FhirResource& patient, const std::vector<LinkedIdentifier>& linked) {
  store::IdentifierPairs add;
  for (const auto& l : linked) add.emplace_back(l.identifier.system, l.identifier.value);
  return store::add_patient_identifiers(patient.json, patient.identifiers, add);
}

IdentityLinker::IdentityLinker(PersonIndex& index, const std::string& held_db_path, IdentityEffects effects)
    : index_(index), effects_(std::move(effects)), db_(held_db_path) {
  db_.exec(kHeldSchema);
}

// A Patient the converter marked as replaced by the message's own Patient (ADT^A40, MRG).
bool is_replaced_patient(const store::FhirResource& r) {
  return r.type == "Patient" && r.json.find("\"replaced-by\"") != std::string::npos;
}

void IdentityLinker::merge_replaced_patients(pipeline::ConvertedMessage& m, const std::string& surviving) {
  for (auto it = m.resources.begin(); it != m.resources.end();) {
    if (!is_replaced_patient(*it) || it->id == m.person_id) {
      ++it;
      continue;
    }
    const auto prior = key_identifier_from_patient_json(it->json);
    const auto prior_person = prior ? index_.person_of(*prior) : std::nullopt;
    if (!prior_person || *prior_person == surviving) {
      ++it;  // unknown to the PHR (nothing to merge) or already merged
      continue;
    }
    if (index_.merge(surviving, *prior_person, "hl7v2:A40").status == ActionStatus::Ok &&
        effects_.persons_merged)
      effects_.persons_merged(*prior_person, surviving);
    it = m.resources.erase(it);  // the prior identity lives on in the surviving Patient
  }
}

pipeline::PersonDecision IdentityLinker::resolve(pipeline::ConvertedMessage& m, int64_t inbox_id,
                                                 std::string_view message_type) {
  pipeline::PersonDecision decision;
  store::FhirResource* patient = source_patient(m);
  if (!patient) return decision;  // nothing about a patient: nothing to resolve
  const auto key = key_identifier_from_patient_json(patient->json);
  if (!key) return decision;
  const Demographics demographics = demographics_from_patient_json(patient->json).value_or(Demographics{});
  Resolution res = index_.resolve(*key, demographics);
  // ADT^A08/A31 (demographics update): only this identifier's link is re-evaluated.
  if (res.kind == Resolution::Kind::Known && (message_type == "ADT^A08" || message_type == "ADT^A31")) {
    const ReevaluationResult re = index_.update_demographics(*key, demographics);
    if (re.should_move) {
      const ActionResult moved = index_.unlink(*key, "hl7v2:" + std::string(message_type), re.suggested_person);
      if (moved.status == ActionStatus::Ok) {
        if (effects_.identifier_moved) effects_.identifier_moved(*key, res.person_id, moved.person_id);
        res.person_id = moved.person_id;
      }
    }
  }
  if (res.kind == Resolution::Kind::Review) {
    {
      std::lock_guard lock(mutex_);
      sqlite::Stmt hold(db_, "INSERT OR IGNORE INTO held_messages(review_id, inbox_id) VALUES(?1, ?2)");
      hold.bind(1, res.review_id).bind(2, inbox_id).run();
    }
    decision.kind = pipeline::PersonDecision::Kind::Hold;
    decision.review_id = res.review_id;
    decision.reason = "held for identity review " + std::to_string(res.review_id) +
                      ": the patient may be a person already known; an operator decides (GET /api/identity/review)";
    return decision;
  }
  rewrite_person(m, res.person_id);
  merge_replaced_patients(m, res.person_id);
  patient = source_patient(m);
  if (patient && add_linked_identifiers(*patient, index_.identifiers_of(res.person_id)))
    patient->only_if_absent = false;  // a new link must reach the stored Patient's identifiers
  if (patient && res.kind == Resolution::Kind::Linked) patient->only_if_absent = false;
  return decision;
}

std::vector<int64_t> IdentityLinker::take_held(int64_t review_id) {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> ids;
  sqlite::Transaction txn(db_);
  sqlite::Stmt select(db_, "SELECT inbox_id FROM held_messages WHERE review_id = ?1 ORDER BY inbox_id");
  select.bind(1, review_id);
  while (select.step()) ids.push_back(select.column_int(0));
  select.reset();
  sqlite::Stmt forget(db_, "DELETE FROM held_messages WHERE review_id = ?1");
  forget.bind(1, review_id).run();
  txn.commit();
  return ids;
}

}  // namespace phrgate::identity
