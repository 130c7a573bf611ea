// Adapter tests for the person index on a real SQLite file in a temp dir: deterministic
// identifiers, automatic links, the traps end to end, threshold routing to review, the
// operator actions (link, reject, unlink, merge) with history and reasons, and the A08
// re-evaluation. Everything persists across reopening the file.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/identity/person_index.h"
#include "tests/gateway/identity/identity_test_data.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::identity;
using phrgate::identity::test::person;
using phrgate::testing::TempDir;
using Kind = Resolution::Kind;

namespace {

const SourceIdentifier kA1{"urn:oid:1.1", "A1"}, kB1{"urn:oid:2.2", "B1"}, kC1{"urn:oid:3.3", "C1"};

const Demographics kNora = person("Nora", "Villanueva", "1979-06-14", "F", "221 Chestnut Avenue", "60614",
                                  "3125550142", "nora.v@example.org");

struct Fixture {
  TempDir dir{"phrgate-identity-"};
  std::unique_ptr<PersonIndex> index;
  explicit Fixture(MatchSettings s = test::default_settings()) { index = PersonIndex::open(dir.file("identity.db"), s); }
};

}  // namespace

TEST_CASE("a known identifier resolves to its person; a new one with the same data links", "[identity][index]") {
  Fixture f;
  const Resolution first = f.index->resolve(kA1, kNora);
  CHECK(first.kind == Kind::Created);
  CHECK(first.person_id.size() == 36);
  const Resolution again = f.index->resolve(kA1, kNora);
  CHECK(again.kind == Kind::Known);
  CHECK(again.person_id == first.person_id);
  const Resolution other = f.index->resolve(kB1, kNora);
  CHECK(other.kind == Kind::Linked);
  CHECK(other.person_id == first.person_id);
  CHECK(other.explanation.find("\"rule\":\"fellegi-sunter\"") != std::string::npos);
  CHECK(f.index->person_of(kB1) == first.person_id);
  const auto ids = f.index->identifiers_of(first.person_id);
  REQUIRE(ids.size() == 2);
  CHECK(ids[1].actor == "matcher");
  CHECK(ids[1].reason.find("\"score\"") != std::string::npos);
  CHECK_THROWS_AS(f.index->resolve({"", "x"}, kNora), std::invalid_argument);
}

TEST_CASE("the index survives reopening", "[identity][index]") {
  TempDir dir("phrgate-identity-");
  std::string person_id;
  {
    auto index = PersonIndex::open(dir.file("identity.db"), test::default_settings());
    person_id = index->resolve(kA1, kNora).person_id;
  }
  auto index = PersonIndex::open(dir.file("identity.db"), test::default_settings());
  CHECK(index->person_of(kA1) == person_id);
  CHECK(index->resolve(kB1, kNora).person_id == person_id);
  CHECK(index->demographics_of(kA1)->family == "VILLANUEVA");
}

TEST_CASE("trap: twins are not linked", "[identity][index][trap]") {
  Fixture f;
  Demographics twin = kNora;
  twin.given = {"Lucia"};
  twin.email.clear();
  const auto a = f.index->resolve(kA1, kNora);
  const auto b = f.index->resolve(kB1, twin);
  CHECK(b.kind != Kind::Linked);
  CHECK(b.person_id != a.person_id);
}

TEST_CASE("trap: Jr and Sr are not linked", "[identity][index][trap]") {
  Fixture f;
  const Demographics sr = person("Walter", "Brandt", "1948-10-02", "M", "3 Mill Road", "19103", "2155550175");
  Demographics jr = sr;
  jr.birth_date = "1975-01-19";
  jr.suffix = "JR";
  const auto a = f.index->resolve(kA1, sr);
  const auto b = f.index->resolve(kB1, jr);
  CHECK(b.kind == Kind::Created);
  // The son again without his suffix: the birth year tells him from his father.
  Demographics jr_no_suffix = jr;
  jr_no_suffix.suffix.clear();
  const auto c = f.index->resolve(kC1, jr_no_suffix);
  CHECK(c.kind == Kind::Linked);
  CHECK(c.person_id == b.person_id);
  // The father with a suffix-less record from another source: linked to the father only.
  const auto d = f.index->resolve({"urn:oid:4.4", "D1"}, sr);
  CHECK(d.person_id == a.person_id);
}

TEST_CASE("trap: a common name needs more evidence than a rare one", "[identity][index][trap]") {
  Fixture f;
  // 300 other Smiths make SMITH common in this index.
  for (int i = 0; i < 300; ++i) {
    Demographics d = person(i % 2 ? "Olivia" : "Liam", "Smith", "19" + std::to_string(30 + i % 60) + "-0" +
                            std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10), i % 2 ? "F" : "M");
    d.phone = std::to_string(2000000000LL + i);
    f.index->resolve({"urn:seed", "S" + std::to_string(i)}, d);
  }
  const Demographics john_smith = person("John", "Smith", "1970-01-01", "M", "10 Pine Street", "12345");
  const Demographics john_rare = person("John", "Zylstra", "1970-01-01", "M", "10 Pine Street", "12345");
  f.index->resolve(kA1, john_smith);
  f.index->resolve({"urn:oid:1.1", "A2"}, john_rare);
  // Same name and birth date, nothing else agreeing: a new address elsewhere.
  Demographics moved_smith = john_smith, moved_rare = john_rare;
  moved_smith.address_line = moved_rare.address_line = "99 River Road";
  moved_smith.postal_code = moved_rare.postal_code = "54321";
  const auto smith = f.index->resolve(kB1, moved_smith);
  const auto rare = f.index->resolve({"urn:oid:2.2", "B2"}, moved_rare);
  CHECK(smith.score < rare.score - 3);
  CHECK(smith.kind == Kind::Review);
  CHECK(smith.explanation.find("between-thresholds") != std::string::npos);
  // In a small index a rare name with a new address links: no namesake is to be expected.
  CHECK(rare.kind == Kind::Linked);
}

TEST_CASE("trap: same name and birth date, other address and phone: no automatic link in a large index",
          "[identity][index][trap]") {
  MatchSettings s = test::default_settings();
  // Stands for an index of millions, where namesakes born the same day are to be expected
  // (population x u(family) x u(given) x u(birth date) is over the limit for any name).
  s.max_expected_namesakes = 0.0;
  Fixture f(s);
  // What a population of a million holds: two Mary Wrights born the same day.
  Demographics first = person("Mary", "Wright", "2010-06-20", "F", "3081 Franklin Lane", "99001");
  first.phone = "3646243091";
  Demographics second = person("Mary", "Wright", "2010-06-20", "F", "623 Madison Street", "79380");
  second.phone = "4758025504";
  const auto a = f.index->resolve(kA1, first);
  const auto b = f.index->resolve(kB1, second);
  CHECK(b.kind == Kind::Review);
  CHECK(b.explanation.find("contact_contradicts") != std::string::npos);
  CHECK(b.person_id != a.person_id);
  // The same person seen again with a matching phone is linked.
  Demographics again = first;
  again.address_line = "17 Elm Court";  // moved
  CHECK(f.index->resolve({"urn:oid:3.3", "C1"}, again).person_id == a.person_id);
}

TEST_CASE("trap: a candidate is judged on all its person's records", "[identity][index][trap]") {
  Fixture f;
  // One person known at two hospitals: a record with no phone, and one with her phone.
  Demographics no_phone = person("Ilse", "Brandvold", "1958-02-11", "F", "12 Ferry Lane", "30301");
  Demographics with_phone = no_phone;
  with_phone.phone = "4045550123";
  const auto a = f.index->resolve(kA1, no_phone);
  REQUIRE(f.index->resolve(kB1, with_phone).person_id == a.person_id);
  // Same name and birth date, another address and another phone: the record without a phone
  // alone would let it link; her other record's phone contradicts it.
  Demographics other = person("Ilse", "Brandvold", "1958-02-11", "F", "800 Mill Road", "73301");
  other.phone = "9185550999";
  const auto held = f.index->resolve(kC1, other);
  CHECK(held.kind == Kind::Review);
  CHECK(held.explanation.find("contact_contradicts") != std::string::npos);
  // In an index where namesakes are expected, her phone on the other record corroborates a
  // record that otherwise matches only the first one's name and birth date: the second
  // hospital's record (no birth date, so held, then linked by an operator) has the phone.
  MatchSettings strict = test::default_settings();
  strict.max_expected_namesakes = 0.0;
  Fixture g(strict);
  const auto p = g.index->resolve(kA1, no_phone);
  Demographics no_birth_date = with_phone;
  no_birth_date.birth_date.clear();
  const auto review = g.index->resolve(kB1, no_birth_date);
  REQUIRE(review.kind == Kind::Review);
  REQUIRE(g.index->link(review.review_id, p.person_id, "operator").status == ActionStatus::Ok);
  Demographics moved = person("Ilse", "Brandvold", "1958-02-11", "F", "77 Harbor View", "04101");
  moved.phone = "4045550123";
  const auto linked = g.index->resolve(kC1, moved);
  CHECK(linked.kind == Kind::Linked);
  CHECK(linked.person_id == p.person_id);
}

TEST_CASE("trap: names and birth date alone never add a second identifier of one hospital", "[identity][index][trap]") {
  Fixture f;
  const Demographics first = person("Tamsin", "Okonkwo", "1990-10-02", "F", "4 Wharf Street", "70112");
  const auto a = f.index->resolve(kA1, first);
  // Another MRN of the same hospital, same names and birth date, nothing else agreeing.
  const Demographics other = person("Tamsin", "Okonkwo", "1990-10-02", "F", "61 Canal Road", "70119");
  const auto same_hospital = f.index->resolve({"urn:oid:1.1", "A9"}, other);
  CHECK(same_hospital.kind == Kind::Review);
  CHECK(same_hospital.explanation.find("same_source_already_linked") != std::string::npos);
  // The same evidence from another hospital links (a small index: no namesake expected).
  const auto other_hospital = f.index->resolve(kB1, other);
  CHECK(other_hospital.kind == Kind::Linked);
  CHECK(other_hospital.person_id == a.person_id);
  // With a household field agreeing, a second MRN of one hospital links (a duplicate record).
  Demographics at_home = other;
  at_home.address_line = "4 Wharf Street";
  CHECK(f.index->resolve({"urn:oid:1.1", "A10"}, at_home).kind == Kind::Linked);
}

TEST_CASE("a candidate between the thresholds whose birth date disagrees makes a new person",
          "[identity][index]") {
  const Demographics first = person("Corwin", "Abernethy", "1970-03-04", "M", "", "02139");
  // Same names and postal code, a birth date five years off: not one typo, not a generation.
  const Demographics later = person("Corwin", "Abernethy", "1975-08-19", "M", "", "02139");
  {
    Fixture f;
    f.index->resolve(kA1, first);
    const auto r = f.index->resolve(kB1, later);
    REQUIRE(r.score >= f.index->settings().lower_threshold);
    REQUIRE(r.score < f.index->settings().upper_threshold);
    CHECK(r.kind == Kind::Created);
    CHECK(r.explanation.find("weak-candidate") != std::string::npos);
  }
  MatchSettings s = test::default_settings();
  s.weak_candidates_to_review = true;
  Fixture g(s);
  g.index->resolve(kA1, first);
  const auto r = g.index->resolve(kB1, later);
  CHECK(r.kind == Kind::Review);
  CHECK(r.explanation.find("between-thresholds") != std::string::npos);
}

TEST_CASE("trap: a twin's nickname fits one record of the other twin's person", "[identity][index][trap]") {
  Fixture f;
  // ALAN JAMES, known at two hospitals, once as AL; his twin BERT (ALBERT) arrives: BERT and AL
  // are both nicknames of ALBERT, BERT and ALAN disagree outright.
  const Demographics alan = person("Alan", "James", "2006-12-03", "M", "9053 Church Avenue", "33651", "7106249756");
  Demographics al = alan;
  al.given = {"Al"};
  const auto a = f.index->resolve(kA1, alan);
  REQUIRE(f.index->resolve(kB1, al).person_id == a.person_id);
  const Demographics bert = person("Bert", "James", "2006-12-03", "M", "9053 Church Avenue", "33651", "7106249756");
  const auto r = f.index->resolve(kC1, bert);
  CHECK(r.kind != Kind::Linked);
  CHECK(r.person_id != a.person_id);
}

TEST_CASE("trap: a year one digit apart is not a typo (siblings, parent and child)", "[identity][index][trap]") {
  Fixture f;
  // Two siblings two years apart sharing a parent's email, and a father and son (no suffix)
  // twenty years apart at one address.
  Demographics older = person("Amy", "Perez", "2015-09-05", "F", "5813 Valley Court", "38595");
  older.email = "amy.perez@example.com";
  Demographics younger = older;
  younger.birth_date = "2017-09-05";
  younger.address_line.clear();
  const auto a = f.index->resolve(kA1, older);
  CHECK(f.index->resolve(kB1, younger).person_id != a.person_id);
  Demographics father = person("John", "Manning", "1935-10-24", "M", "8512 Lake Court", "48736");
  Demographics son = father;
  son.birth_date = "1955-10-24";
  const auto fa = f.index->resolve({"urn:oid:3.3", "F1"}, father);
  CHECK(f.index->resolve({"urn:oid:4.4", "S1"}, son).person_id != fa.person_id);
  // A transposed year (1985 / 1958) is still a typo of the same person when the household agrees.
  Demographics typed = person("Nadia", "Kowalczyk", "1985-02-11", "F", "4 Birch Road", "10001");
  typed.phone = "2125550100";
  Demographics swapped = typed;
  swapped.birth_date = "1958-02-11";
  const auto t = f.index->resolve({"urn:oid:5.5", "T1"}, typed);
  CHECK(f.index->resolve({"urn:oid:6.6", "T2"}, swapped).person_id == t.person_id);
}

TEST_CASE("trap: a married surname change still finds the person", "[identity][index][trap]") {
  Fixture f;
  const auto a = f.index->resolve(kA1, kNora);
  Demographics married = kNora;
  married.family = "Okafor";
  married.email.clear();
  const auto b = f.index->resolve(kB1, married);
  CHECK(b.kind != Kind::Created);
  if (b.kind == Kind::Linked) CHECK(b.person_id == a.person_id);
}

TEST_CASE("trap: a shared SSN last four alone creates a new person", "[identity][index][trap]") {
  Fixture f;
  Demographics a = kNora;
  a.ssn_last4 = "9876";
  Demographics b = person("Tobias", "Renner", "1990-12-01", "M", "5 Lake Drive", "98101", "2065550111");
  b.ssn_last4 = "9876";
  f.index->resolve(kA1, a);
  CHECK(f.index->resolve(kB1, b).kind == Kind::Created);
}

TEST_CASE("scores between the thresholds are held for review, not dropped", "[identity][index][review]") {
  MatchSettings s = test::default_settings();
  s.upper_threshold = 200.0;  // nothing links automatically
  Fixture f(s);
  const auto a = f.index->resolve(kA1, kNora);
  const auto held = f.index->resolve(kB1, kNora);
  REQUIRE(held.kind == Kind::Review);
  CHECK(held.person_id.empty());
  CHECK(held.review_id > 0);
  CHECK_FALSE(f.index->person_of(kB1));
  // Seen again while held: still the same review item.
  const auto again = f.index->resolve(kB1, kNora);
  CHECK(again.kind == Kind::Review);
  CHECK(again.review_id == held.review_id);
  const ReviewPage page = f.index->list_review(0, 10);
  REQUIRE(page.total == 1);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].identifier == kB1);
  REQUIRE(page.items[0].candidates.size() == 1);
  CHECK(page.items[0].candidates[0].person_id == a.person_id);
  CHECK(page.items[0].candidates[0].score == Approx(held.score));
  CHECK(f.index->stats().open_reviews == 1);
}

TEST_CASE("link and reject decide review items, with reasons and history", "[identity][index][review]") {
  MatchSettings s = test::default_settings();
  s.upper_threshold = 200.0;
  Fixture f(s);
  const auto a = f.index->resolve(kA1, kNora);
  const auto held_b = f.index->resolve(kB1, kNora);
  const auto held_c = f.index->resolve(kC1, kNora);
  REQUIRE(held_c.kind == Kind::Review);

  CHECK(f.index->link(held_b.review_id, "no-such-person", "alice").status == ActionStatus::UnknownPerson);
  CHECK(f.index->link(9999, a.person_id, "alice").status == ActionStatus::NotFound);
  const ActionResult linked = f.index->link(held_b.review_id, a.person_id, "alice");
  CHECK(linked.status == ActionStatus::Ok);
  CHECK(f.index->person_of(kB1) == a.person_id);
  CHECK(f.index->link(held_b.review_id, a.person_id, "alice").status == ActionStatus::Conflict);

  const ActionResult rejected = f.index->reject(held_c.review_id, "bob");
  REQUIRE(rejected.status == ActionStatus::Ok);
  CHECK(rejected.person_id != a.person_id);
  CHECK(f.index->person_of(kC1) == rejected.person_id);
  CHECK(f.index->list_review(0, 10).total == 0);

  const auto ids = f.index->identifiers_of(a.person_id);
  REQUIRE(ids.size() == 2);
  CHECK(ids[1].actor == "alice");
  CHECK(ids[1].reason.find("manual-link") != std::string::npos);
  const auto history = f.index->history_of(a.person_id);
  REQUIRE(history.size() >= 3);  // create, hold (as candidate) x2, manual_link
  CHECK(history[0].action == "manual_link");
  CHECK(history[0].actor == "alice");
  CHECK(f.index->history_of(rejected.person_id)[0].action == "reject");
}

TEST_CASE("unlink moves an identifier to a new or named person; merge folds two persons", "[identity][index]") {
  Fixture f;
  const auto a = f.index->resolve(kA1, kNora);
  f.index->resolve(kB1, kNora);
  CHECK(f.index->unlink({"urn:x", "nope"}, "alice").status == ActionStatus::NotFound);
  const ActionResult moved = f.index->unlink(kB1, "alice");
  REQUIRE(moved.status == ActionStatus::Ok);
  CHECK(moved.person_id != a.person_id);
  CHECK(f.index->person_of(kB1) == moved.person_id);
  CHECK(f.index->identifiers_of(moved.person_id)[0].reason.find("manual-unlink") != std::string::npos);
  CHECK(f.index->unlink(kB1, "alice", moved.person_id).status == ActionStatus::Conflict);

  const ActionResult merged = f.index->merge(a.person_id, moved.person_id, "carol");
  REQUIRE(merged.status == ActionStatus::Ok);
  CHECK(f.index->person_of(kB1) == a.person_id);
  const auto gone = f.index->person(moved.person_id);
  REQUIRE(gone);
  CHECK(gone->merged_into == a.person_id);
  CHECK(gone->identifiers.empty());
  CHECK(f.index->merge(a.person_id, moved.person_id, "carol").status == ActionStatus::Conflict);
  CHECK(f.index->merge(a.person_id, a.person_id, "carol").status == ActionStatus::Conflict);
  CHECK(f.index->merge(a.person_id, "missing", "carol").status == ActionStatus::UnknownPerson);
  // Unlinking to a merged-away person lands on the survivor.
  const auto c = f.index->resolve(kC1, person("Ivo", "Petrov", "2001-01-01", "M"));
  CHECK(f.index->unlink(kC1, "carol", moved.person_id).person_id == a.person_id);
  CHECK(c.person_id != a.person_id);

  const auto history = f.index->history_of(a.person_id);
  bool saw_merge = false, saw_unlink = false;
  for (const auto& h : history) {
    saw_merge |= h.action == "merge" && h.actor == "carol" && h.other_person_id == moved.person_id;
    saw_unlink |= h.action == "unlink" && h.actor == "alice";
  }
  CHECK(saw_merge);
  CHECK(saw_unlink);
  CHECK(f.index->stats().persons == 2);  // a, and c's now empty person; moved was merged away
}

TEST_CASE("A08: update_demographics re-evaluates only this identifier's link", "[identity][index][a08]") {
  Fixture f;
  const auto a = f.index->resolve(kA1, kNora);
  f.index->resolve(kB1, kNora);
  const Demographics other = person("Kwame", "Mensah", "1966-03-30", "M", "8 Hickory Court", "77002", "7135550188");
  const auto k = f.index->resolve(kC1, other);
  REQUIRE(k.kind == Kind::Created);

  // A small correction: still the same person.
  Demographics corrected = kNora;
  corrected.phone = "3125550999";
  ReevaluationResult r = f.index->update_demographics(kB1, corrected);
  CHECK(r.found);
  CHECK_FALSE(r.should_move);
  CHECK(r.current_person == a.person_id);
  CHECK(f.index->demographics_of(kB1)->phone == "3125550999");

  // The source re-registered B1 as someone else entirely, who is already known.
  r = f.index->update_demographics(kB1, other);
  CHECK(r.should_move);
  CHECK(r.suggested_person == k.person_id);
  CHECK(f.index->person_of(kB1) == a.person_id);  // nothing moves by itself
  CHECK(f.index->unlink(kB1, "a08", r.suggested_person).person_id == k.person_id);

  // Someone unknown: move to a new person.
  const Demographics stranger = person("Priya", "Raman", "2003-08-08", "F", "1 Elm Street", "10001");
  f.index->resolve({"urn:oid:2.2", "B9"}, kNora);
  r = f.index->update_demographics({"urn:oid:2.2", "B9"}, stranger);
  CHECK(r.should_move);
  CHECK(r.suggested_person.empty());

  CHECK_FALSE(f.index->update_demographics({"urn:x", "unknown"}, kNora).found);
}
