// Unit tests for the Fellegi–Sunter comparator: field levels and weights, and each trap of
// the matching design (twins, Jr/Sr, common names, married surname, SSN last-4 alone).
#include <catch2/catch.hpp>

#include <string_view>

#include "gateway/identity/record_comparator.h"
#include "tests/gateway/identity/identity_test_data.h"

using namespace phrgate::identity;
using phrgate::identity::test::person;

namespace {

const MatchSettings& settings() {
  static const MatchSettings s = test::default_settings();
  return s;
}

Comparison cmp(const Demographics& a, const Demographics& b, NameFrequencies f = {}) {
  return RecordComparator(settings()).compare(normalize(a), normalize(b), f);
}

std::string_view level(const Comparison& c, Field f) { return c.at(f).level; }

const Demographics kAnna = person("Anna", "Lindqvist", "1984-07-21", "F", "14 Birch Lane", "02134", "6175550101",
                                  "anna@example.com");

}  // namespace

TEST_CASE("identical records score far above the upper threshold", "[identity][comparator]") {
  const Comparison c = cmp(kAnna, kAnna);
  CHECK(c.score > settings().upper_threshold + 10);
  CHECK(c.auto_link_allowed);
  CHECK(c.contact_weight == settings().contact_cap);  // household fields capped together
  CHECK(level(c, Field::Family) == "exact");
  CHECK(level(c, Field::BirthDate) == "exact");
}

TEST_CASE("field levels: typo, nickname, swapped and mistyped dates", "[identity][comparator]") {
  Demographics b = kAnna;
  b.family = "Lindqvsit";
  b.given = {"Ana"};
  b.birth_date = "1984-07-12";
  CHECK(level(cmp(kAnna, b), Field::Family) == "similar");
  CHECK(level(cmp(kAnna, b), Field::Given) == "similar");
  CHECK(level(cmp(kAnna, b), Field::BirthDate) == "one_typo");
  b.birth_date = "1948-07-21";
  CHECK(level(cmp(kAnna, b), Field::BirthDate) == "one_typo");  // adjacent digits swapped

  const Demographics will = person("William", "Hart", "1960-03-04", "M");
  Demographics bill = will;
  bill.given = {"Bill"};
  bill.birth_date = "1960-04-03";
  const Comparison c = cmp(will, bill);
  CHECK(level(c, Field::Given) == "nickname");
  CHECK(level(c, Field::BirthDate) == "day_month_swapped");
  // Variants of name or date need a contact field (or SSN last-4) to agree as well.
  CHECK_FALSE(c.auto_link_allowed);
  CHECK(std::string_view(c.hold_reason) == "uncorroborated_variant");
  Demographics will_phone = will, bill_phone = bill;
  will_phone.phone = bill_phone.phone = "2125550100";
  CHECK(cmp(will_phone, bill_phone).auto_link_allowed);
}

TEST_CASE("trap: a twin whose middle name is the other twin's first name", "[identity][comparator][trap]") {
  Demographics david = kAnna;
  david.given = {"David", "John"};
  Demographics john = kAnna;
  john.given = {"John"};
  const Comparison c = cmp(john, david);
  CHECK(level(c, Field::Given) == "middle_name");
  CHECK_FALSE(c.auto_link_allowed);
}

TEST_CASE("trap: twins with different given names are never auto-linked", "[identity][comparator][trap]") {
  Demographics twin = kAnna;
  twin.given = {"Erik"};
  twin.sex = "M";
  twin.email.clear();
  const Comparison c = cmp(kAnna, twin);
  CHECK_FALSE(c.auto_link_allowed);
  CHECK(std::string_view(c.guard) == "sibling");
  CHECK(c.score < settings().lower_threshold);  // a new person, not even review
}

TEST_CASE("trap: Jr and Sr of the same name are kept apart", "[identity][comparator][trap]") {
  Demographics father = person("Robert", "Kowalczyk", "1950-02-11", "M", "9 Oak Street", "30301", "4045550199");
  Demographics son = father;
  son.birth_date = "1978-09-30";
  const Comparison by_year = cmp(father, son);
  CHECK(std::string_view(by_year.guard) == "generation_gap");
  CHECK(by_year.score < settings().lower_threshold);

  // Same birth date recorded (a data-entry copy) but conflicting suffixes.
  Demographics jr = father, sr = father;
  jr.suffix = "Jr";
  sr.suffix = "Sr";
  const Comparison by_suffix = cmp(jr, sr);
  CHECK(std::string_view(by_suffix.guard) == "suffix_conflict");
  CHECK_FALSE(by_suffix.auto_link_allowed);
}

TEST_CASE("trap: common names weigh less than rare ones", "[identity][comparator][trap]") {
  const Demographics a = person("John", "Smith", "1970-01-01", "M");
  const Comparison rare = cmp(a, a, {0.00001, 0.0001});
  const Comparison common = cmp(a, a, {0.01, 0.03});
  CHECK(common.at(Field::Family).weight < rare.at(Field::Family).weight - 5);
  CHECK(common.at(Field::Given).weight < rare.at(Field::Given).weight - 4);
}

TEST_CASE("trap: a married surname still reaches link or review via given name, birth date and contact",
          "[identity][comparator][trap]") {
  Demographics married = kAnna;
  married.family = "Okafor";
  const Comparison c = cmp(kAnna, married);
  CHECK(level(c, Field::Family) == "disagree");
  CHECK(c.score >= settings().lower_threshold);
  CHECK(c.auto_link_allowed);
}

TEST_CASE("trap: the same SSN last four alone is never enough", "[identity][comparator][trap]") {
  Demographics a = kAnna;
  a.ssn_last4 = "4321";
  Demographics b = person("Marcus", "Delgado", "1991-11-02", "M", "77 Sunset Blvd", "90210", "3105550123");
  b.ssn_last4 = "4321";
  const Comparison c = cmp(a, b);
  CHECK(level(c, Field::Ssn4) == "exact");
  CHECK(c.score < settings().lower_threshold);
}

TEST_CASE("the explanation carries levels and weights, never values", "[identity][comparator]") {
  const std::string json = comparison_json(cmp(kAnna, kAnna));
  CHECK(json.find("\"family\":{\"level\":\"exact\"") != std::string::npos);
  CHECK(json.find("LINDQVIST") == std::string::npos);
  CHECK(json.find("1984") == std::string::npos);
  CHECK(json.find("6175550101") == std::string::npos);
}

TEST_CASE("trap: namesakes in a large index need a household field", "[identity][comparator][trap]") {
  // Same names and birth date; a small index (population 1,000) and a large one (2,000,000).
  const NameFrequencies small{0.003, 0.015, 1'000.0}, large{0.003, 0.015, 2'000'000.0};
  Demographics other_phone = kAnna;
  other_phone.phone = "2125550177";
  other_phone.address_line = "9 Oak Street";
  other_phone.email.clear();
  // A disagreeing phone with nothing agreeing: held whatever the size of the index.
  CHECK_FALSE(cmp(kAnna, other_phone, small).auto_link_allowed);
  CHECK(std::string_view(cmp(kAnna, other_phone, large).hold_reason) == "contact_contradicts");
  // Only the street address differs (she moved): links in a small index, held in a large one.
  Demographics moved = kAnna;
  moved.address_line = "9 Oak Street";
  moved.phone.clear();
  moved.email.clear();
  CHECK(cmp(kAnna, moved, small).auto_link_allowed);
  CHECK_FALSE(cmp(kAnna, moved, large).auto_link_allowed);
  // The same phone after the move corroborates: linked in both.
  Demographics moved_same_phone = kAnna;
  moved_same_phone.address_line = "9 Oak Street";
  CHECK(cmp(kAnna, moved_same_phone, large).auto_link_allowed);
}

TEST_CASE("trap: middle names or sex that disagree make a variant", "[identity][comparator][trap]") {
  Demographics mark_fred = person("Mark", "Haldale", "1965-08-22", "M", "1697 Madison Circle", "96912");
  mark_fred.given.push_back("Fred");
  Demographics mark_bradley = person("Mark", "Haldale", "1965-08-22", "M");
  mark_bradley.given.push_back("Bradley");
  const Comparison c = cmp(mark_fred, mark_bradley, {0.0002, 0.002, 1'000.0});
  CHECK_FALSE(c.auto_link_allowed);
  CHECK(std::string_view(c.hold_reason) == "middle_name_differs");
  // An initial that fits, or a middle name on one side only, is no conflict.
  Demographics mark_f = mark_bradley;
  mark_f.given[1] = "F";
  Demographics mark = mark_bradley;
  mark.given.resize(1);
  CHECK(cmp(mark_fred, mark_f, {0.0002, 0.002, 1'000.0}).auto_link_allowed);
  CHECK(cmp(mark_fred, mark, {0.0002, 0.002, 1'000.0}).auto_link_allowed);
  // Unisex given name, same family name and birth date, different sex: a person decides.
  const Demographics laron_f = person("Laron", "Warren", "2014-09-10", "F");
  const Demographics laron_m = person("Laron", "Warren", "2014-09-10", "M", "4208 Laurel Place", "11309");
  CHECK(std::string_view(cmp(laron_f, laron_m, {0.0002, 0.0005, 1'000.0}).hold_reason) == "sex_differs");
}

TEST_CASE("the person's other records: their contacts corroborate or contradict", "[identity][comparator][trap]") {
  const NameFrequencies large{0.003, 0.015, 2'000'000.0};
  // The record compared has no phone; another record of the same person has one.
  Demographics known = kAnna;
  known.phone.clear();
  known.email.clear();
  PersonContacts contacts;
  contacts.add(known);
  Demographics other_record = kAnna;
  other_record.address_line = "3 Quarry Road";
  contacts.add(other_record);
  Demographics moved = kAnna;  // she moved; the phone is the one her other record holds
  moved.address_line = "9 Oak Street";
  moved.email.clear();
  CHECK_FALSE(cmp(moved, known, large).auto_link_allowed);  // the record alone: a namesake is possible
  const Comparison whole = RecordComparator(settings()).compare(normalize(moved), normalize(known), large, &contacts);
  CHECK(whole.auto_link_allowed);
  CHECK(level(whole, Field::Phone) == "exact");
  // A phone that none of the person's records shares contradicts, even though the record
  // compared has none: held however small the index.
  Demographics stranger = moved;
  stranger.phone = "2125550177";
  const NameFrequencies small{0.003, 0.015, 1'000.0};
  CHECK(cmp(stranger, known, small).auto_link_allowed);
  const Comparison c = RecordComparator(settings()).compare(normalize(stranger), normalize(known), small, &contacts);
  CHECK_FALSE(c.auto_link_allowed);
  CHECK(level(c, Field::Phone) == "disagree");
  CHECK(std::string_view(c.hold_reason) == "contact_contradicts");
}

TEST_CASE("middle names that agree make a namesake less likely", "[identity][comparator][trap]") {
  // persons x u(family) x u(given) x u(birth date) = 7.2e-5, x 12 as the address differs:
  // over the 5e-5 limit.
  const NameFrequencies mid{0.003, 0.015, 40'000.0};
  Demographics a = person("Mark", "Haldale", "1965-08-22", "M", "1697 Madison Circle", "96912");
  Demographics b = person("Mark", "Haldale", "1965-08-22", "M", "40 Shore Drive", "10455");
  CHECK(std::string_view(cmp(a, b, mid).hold_reason) == "namesake_possible_address_differs");
  a.given.push_back("Fredrik");
  b.given.push_back("Fredrik");  // the same full middle name: x 0.05 -> 3.6e-6 (x 12: 4.3e-5), linked
  CHECK(cmp(a, b, mid).auto_link_allowed);
  b.given[1] = "F";  // an initial that fits: x 0.25 -> 1.8e-5 (x 12: 2.2e-4), still held
  CHECK_FALSE(cmp(a, b, mid).auto_link_allowed);
  const NameFrequencies smaller{0.003, 0.015, 8'000.0};  // 1.44e-5 x 0.25 x 12 = 4.3e-5: linked
  CHECK(cmp(a, b, smaller).auto_link_allowed);
  b.given.resize(1);  // a middle name on one side only tells nothing
  CHECK_FALSE(cmp(a, b, smaller).auto_link_allowed);
}

TEST_CASE("trap: twins with a nickname that resembles the other twin's name", "[identity][comparator][trap]") {
  // JENNY (Jennifer's nickname) and her twin DENNY: one edit apart, same family name, birth
  // date and phone; the sex or the SSN last-4 tell them apart, whatever the household says.
  Demographics jenny = person("Jenny", "Oconnell", "1988-12-31", "F", "5343 Elm Street", "12347", "9928529591");
  Demographics denny = person("Denny", "Oconnell", "1988-12-31", "M", "5343 Elm Street", "12347", "9928529591");
  CHECK(level(cmp(jenny, denny), Field::Given) == "similar");
  CHECK(std::string_view(cmp(jenny, denny).hold_reason) == "sex_differs");
  denny.sex = "F";  // sex not told apart: the SSN last-4 does
  jenny.ssn_last4 = "5097";
  denny.ssn_last4 = "9766";
  CHECK(std::string_view(cmp(jenny, denny).hold_reason) == "ssn_last4_differs");
  denny.ssn_last4.clear();
  CHECK(cmp(jenny, denny).auto_link_allowed);  // a variant with the household agreeing
}

TEST_CASE("an e-mail does not outweigh a phone that disagrees for a variant", "[identity][comparator][trap]") {
  // Two ROSE NAVARROs born two days apart share r.navarro@... (addresses are made of names).
  Demographics a = person("Rose", "Navarro", "1959-03-17", "F", "", "", "6234504882", "r.navarro@post.example.com");
  Demographics b = person("Rose", "Navarro", "1959-03-19", "F", "7344 Elm Road", "40134", "3648326905",
                          "r.navarro@post.example.com");
  const Comparison c = cmp(a, b);
  CHECK(level(c, Field::BirthDate) == "one_typo");
  CHECK_FALSE(c.auto_link_allowed);
  CHECK(std::string_view(c.hold_reason) == "contact_contradicts");
  b.phone = a.phone;  // the same phone: linked
  CHECK(cmp(a, b).auto_link_allowed);
}

TEST_CASE("a birth date missing on one side links only with the SSN last-4 and a household field",
          "[identity][comparator][trap]") {
  Demographics known = kAnna;
  known.ssn_last4 = "4821";
  Demographics no_birth_date = kAnna;
  no_birth_date.birth_date.clear();
  // Names exact, address, phone and e-mail agreeing: a father and son of one name share
  // all of that but the e-mail; without the SSN it is not enough.
  CHECK(std::string_view(cmp(no_birth_date, known).hold_reason) == "name_or_birth_date_differs");
  no_birth_date.ssn_last4 = "4821";
  CHECK(cmp(no_birth_date, known).auto_link_allowed);
  // The SSN alone, with no household field agreeing, is not enough either.
  no_birth_date.address_line = "9 Oak Street";
  no_birth_date.phone.clear();
  no_birth_date.email.clear();
  CHECK(std::string_view(cmp(no_birth_date, known).hold_reason) == "name_or_birth_date_differs");
}

TEST_CASE("namesakes are expected per person, not per record", "[identity][comparator]") {
  Demographics a = person("Mark", "Haldale", "1965-08-22", "M");
  Demographics b = person("Mark", "Haldale", "1965-08-22", "M");
  // 100,000 records x 0.003 x 0.015 x 4e-5 = 1.8e-4: held; the same index holds 40,000
  // persons (7.2e-5): still held; 20,000 persons (3.6e-5): linked under the 5e-5 limit.
  const Comparison by_records = cmp(a, b, {0.003, 0.015, 100'000.0});
  CHECK(std::string_view(by_records.hold_reason) == "namesake_possible");
  CHECK(by_records.expected_namesakes == Approx(1.8e-4));
  CHECK_FALSE(cmp(a, b, {0.003, 0.015, 100'000.0, 40'000.0}).auto_link_allowed);
  const Comparison by_persons = cmp(a, b, {0.003, 0.015, 100'000.0, 20'000.0});
  CHECK(by_persons.auto_link_allowed);
  CHECK(by_persons.expected_namesakes == Approx(3.6e-5));
  CHECK(comparison_json(by_persons).find("\"expected_namesakes\":0.000036") != std::string::npos);
}
