// Operator side of the person index: the review queue (list, link, reject), unlink, merge,
// and the read queries (see person_index.h). Each change is one transaction that also
// writes a history row. Error messages never contain identifiers or names.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/identity/person_index_impl.h"

namespace phrgate::identity {
namespace {

std::string text(const sqlite::Stmt& s, int col) { return std::string(s.column_text(col)); }

std::string reason_json(const char* rule, std::initializer_list<std::pair<const char*, std::string>> extra) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("rule");
  w.String(rule);
  for (const auto& [k, v] : extra) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ActionResult fail(ActionStatus status, std::string message) { return {status, {}, std::move(message)}; }

struct OpenReview {
  int64_t ident_row = 0;
  SourceIdentifier identifier;
  std::string state;
};

std::optional<OpenReview> load_review(sqlite::Db& db, int64_t review_id) {
  sqlite::Stmt q(db, "SELECT r.ident, i.system, i.value, r.state FROM review r JOIN identifiers i ON i.id = r.ident "
                     "WHERE r.id = ?");
  q.bind(1, review_id);
  if (!q.step()) return std::nullopt;
  return OpenReview{q.column_int(0), {text(q, 1), text(q, 2)}, text(q, 3)};
}

void close_review(sqlite::Db& db, int64_t review_id, const char* state, const std::string& actor) {
  sqlite::Stmt u(db, "UPDATE review SET state = ?, resolved_by = ?, resolved_ms = ? WHERE id = ?");
  u.bind(1, std::string_view(state)).bind(2, actor).bind(3, now_ms()).bind(4, review_id).run();
}

}  // namespace

ReviewPage PersonIndex::list_review(int64_t offset, int64_t count) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  ReviewPage page;
  {
    sqlite::Stmt total(m.db, "SELECT COUNT(*) FROM review WHERE state = 'open'");
    if (total.step()) page.total = total.column_int(0);
  }
  sqlite::Stmt q(m.db, "SELECT r.id, i.system, i.value, r.created_ms FROM review r JOIN identifiers i ON i.id = r.ident "
                       "WHERE r.state = 'open' ORDER BY r.id LIMIT ? OFFSET ?");
  q.bind(1, count).bind(2, offset);
  while (q.step()) page.items.push_back({q.column_int(0), {text(q, 1), text(q, 2)}, q.column_int(3), {}});
  sqlite::Stmt c(m.db, "SELECT person_id, score, explanation FROM review_candidates WHERE review = ? ORDER BY rank");
  for (auto& item : page.items) {
    c.bind(1, item.id);
    while (c.step()) item.candidates.push_back({text(c, 0), c.column_double(1), text(c, 2)});
    c.reset();
  }
  return page;
}

ActionResult PersonIndex::link(int64_t review_id, const std::string& person_id, const std::string& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  auto review = load_review(m.db, review_id);
  if (!review) return fail(ActionStatus::NotFound, "no review item with this id");
  if (review->state != "open") return fail(ActionStatus::Conflict, "the review item is already decided");
  auto target = m.surviving(person_id);
  if (!target) return fail(ActionStatus::UnknownPerson, "no person with this id");
  double score = 0.0;
  {
    sqlite::Stmt c(m.db, "SELECT score FROM review_candidates WHERE review = ? AND person_id = ?");
    c.bind(1, review_id).bind(2, person_id);
    if (c.step()) score = c.column_double(0);
  }
  const std::string reason = reason_json("manual-link", {{"review_id", std::to_string(review_id)},
                                                         {"score", std::to_string(score)}});
  m.set_link(review->ident_row, target->row, reason, actor);
  close_review(m.db, review_id, "linked", actor);
  m.history(actor, "manual_link", target->person_id, {}, review->identifier, reason);
  tx.commit();
  return {ActionStatus::Ok, target->person_id, {}};
}

ActionResult PersonIndex::reject(int64_t review_id, const std::string& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  auto review = load_review(m.db, review_id);
  if (!review) return fail(ActionStatus::NotFound, "no review item with this id");
  if (review->state != "open") return fail(ActionStatus::Conflict, "the review item is already decided");
  PersonRow p = m.create_person(&review->identifier);
  const std::string reason = reason_json("review-rejected", {{"review_id", std::to_string(review_id)}});
  m.set_link(review->ident_row, p.row, reason, actor);
  close_review(m.db, review_id, "rejected", actor);
  m.history(actor, "reject", p.person_id, {}, review->identifier, reason);
  tx.commit();
  return {ActionStatus::Ok, p.person_id, {}};
}

ActionResult PersonIndex::unlink(const SourceIdentifier& id, const std::string& actor, const std::string& target_person) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  auto ident = m.ident(id);
  if (!ident) return fail(ActionStatus::NotFound, "no such identifier in the person index");
  if (!ident->person_row) return fail(ActionStatus::Conflict, "the identifier is held for review; decide the review item");
  PersonRow target;
  if (!target_person.empty()) {
    auto t = m.surviving(target_person);
    if (!t) return fail(ActionStatus::UnknownPerson, "no person with this id");
    if (t->row == ident->person_row) return fail(ActionStatus::Conflict, "the identifier already belongs to that person");
    target = *t;
  } else {
    target = m.create_person();
  }
  const std::string reason = reason_json(target_person.empty() ? "manual-unlink" : "manual-move",
                                         {{"from_person", ident->person_id}});
  m.set_link(ident->id, target.row, reason, actor);
  m.history(actor, "unlink", target.person_id, ident->person_id, id, reason);
  tx.commit();
  return {ActionStatus::Ok, target.person_id, {}};
}

ActionResult PersonIndex::merge(const std::string& surviving, const std::string& merged, const std::string& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Transaction tx(m.db);
  auto keep = m.person(surviving);
  auto gone = m.person(merged);
  if (!keep || !gone) return fail(ActionStatus::UnknownPerson, "no person with this id");
  if (!keep->merged_into.empty() || !gone->merged_into.empty())
    return fail(ActionStatus::Conflict, "a person that was merged away cannot take part in a merge");
  if (keep->row == gone->row) return fail(ActionStatus::Conflict, "a person cannot be merged into itself");
  std::vector<std::pair<int64_t, SourceIdentifier>> moved;
  {
    sqlite::Stmt q(m.db, "SELECT id, system, value FROM identifiers WHERE person = ?");
    q.bind(1, gone->row);
    while (q.step()) moved.push_back({q.column_int(0), {text(q, 1), text(q, 2)}});
  }
  const std::string reason = reason_json("merge", {{"from_person", gone->person_id}});
  for (const auto& [row, identifier] : moved) {
    m.set_link(row, keep->row, reason, actor);
    m.history(actor, "merge", keep->person_id, gone->person_id, identifier, reason);
  }
  {
    sqlite::Stmt u(m.db, "UPDATE persons SET merged_into = ? WHERE id = ?");
    u.bind(1, keep->person_id).bind(2, gone->row).run();
  }
  // Candidates pointing at the merged person now point at the survivor.
  {
    sqlite::Stmt u(m.db, "UPDATE review_candidates SET person_id = ? WHERE person_id = ?");
    u.bind(1, keep->person_id).bind(2, gone->person_id).run();
  }
  if (moved.empty()) m.history(actor, "merge", keep->person_id, gone->person_id, {}, reason);
  tx.commit();
  return {ActionStatus::Ok, keep->person_id, {}};
}

std::optional<std::string> PersonIndex::person_of(const SourceIdentifier& id) {
  std::lock_guard lock(impl_->mu);
  auto ident = impl_->ident(id);
  if (!ident || !ident->person_row) return std::nullopt;
  return ident->person_id;
}

std::optional<int64_t> PersonIndex::open_review_of(const SourceIdentifier& id) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto ident = m.ident(id);
  if (!ident || ident->person_row) return std::nullopt;
  std::optional<int64_t> out;
  m.review_open_of_ident.bind(1, ident->id);
  if (m.review_open_of_ident.step()) out = m.review_open_of_ident.column_int(0);
  m.review_open_of_ident.reset();
  return out;
}

std::vector<LinkedIdentifier> PersonIndex::identifiers_of(const std::string& person_id) {
  std::lock_guard lock(impl_->mu);
  std::vector<LinkedIdentifier> out;
  auto p = impl_->person(person_id);
  if (!p) return out;
  auto& q = impl_->idents_of_person;
  q.bind(1, p->row);
  while (q.step()) out.push_back({{text(q, 0), text(q, 1)}, text(q, 2), text(q, 3), q.column_int(4)});
  q.reset();
  return out;
}

std::optional<PersonView> PersonIndex::person(const std::string& person_id) {
  std::optional<PersonView> view;
  {
    std::lock_guard lock(impl_->mu);
    auto p = impl_->person(person_id);
    if (!p) return std::nullopt;
    sqlite::Stmt q(impl_->db, "SELECT created_ms FROM persons WHERE id = ?");
    q.bind(1, p->row);
    view = PersonView{p->person_id, p->merged_into, q.step() ? q.column_int(0) : 0, {}};
  }
  view->identifiers = identifiers_of(person_id);
  return view;
}

std::vector<HistoryEntry> PersonIndex::history_of(const std::string& person_id, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<HistoryEntry> out;
  sqlite::Stmt q(impl_->db, "SELECT at_ms, actor, action, COALESCE(person, ''), COALESCE(other_person, ''), "
                            "COALESCE(system, ''), COALESCE(value, ''), detail FROM history "
                            "WHERE person = ?1 OR other_person = ?1 ORDER BY id DESC LIMIT ?2");
  q.bind(1, person_id).bind(2, limit);
  while (q.step())
    out.push_back({q.column_int(0), text(q, 1), text(q, 2), text(q, 3), text(q, 4), {text(q, 5), text(q, 6)}, text(q, 7)});
  return out;
}

std::optional<Demographics> PersonIndex::demographics_of(const SourceIdentifier& id) {
  std::lock_guard lock(impl_->mu);
  auto ident = impl_->ident(id);
  if (!ident) return std::nullopt;
  return impl_->demographics(ident->id);
}

IndexStats PersonIndex::stats() {
  std::lock_guard lock(impl_->mu);
  IndexStats s;
  sqlite::Stmt q(impl_->db, "SELECT (SELECT COUNT(*) FROM persons WHERE merged_into IS NULL), "
                            "(SELECT COUNT(*) FROM identifiers), (SELECT COUNT(*) FROM review WHERE state = 'open')");
  if (q.step()) s = {q.column_int(0), q.column_int(1), q.column_int(2)};
  return s;
}

}  // namespace phrgate::identity
