// Field comparison levels and Fellegi–Sunter weights (see record_comparator.h).
// Levels and thresholds of similarity are documented in docs/identity.md.
#include "gateway/identity/record_comparator.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdlib>

#include "gateway/identity/string_similarity.h"

namespace phrgate::identity {
namespace {

std::string compact(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out.push_back(c);
  return out;
}

std::vector<std::string_view> parts(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t sp = s.find(' ');
    if (sp != 0) out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

// Spelling variants: one edit on names of 4+ letters, Jaro–Winkler >= 0.92, or same NYSIIS
// code with Jaro–Winkler >= 0.85.
bool similar_spelling(std::string_view a, std::string_view b) {
  if (a.size() >= 4 && b.size() >= 4 && edit_distance(a, b, 1) <= 1) return true;
  const double jw = jaro_winkler(a, b);
  if (jw >= 0.92) return true;
  return jw >= 0.85 && nysiis(a) == nysiis(b);
}

double exact_weight(const LevelProbability& p, double value_u) {
  return std::log2(p.m / (value_u > 0.0 ? value_u : p.u));
}

int year_of(std::string_view date) { return std::atoi(std::string(date.substr(0, 4)).c_str()); }

std::string swapped_date(std::string_view d) {
  std::string s(d);
  std::swap(s[5], s[8]);
  std::swap(s[6], s[9]);
  return s;
}

std::string date_digits(std::string_view d) {
  std::string out;
  for (char c : d)
    if (c != '-') out.push_back(c);
  return out;
}

// One typo that lands in the year: a transposition (1985/1958) is a slip of the keyboard;
// one digit replaced (1935/1955, 2015/2017) is as often a sibling or a parent, so it does not
// count as a typo.
bool year_digit_replaced(std::string_view a, std::string_view b) {
  if (a.substr(0, 4) == b.substr(0, 4)) return false;
  int diff = 0;
  for (std::size_t i = 0; i < 4; ++i) diff += a[i] != b[i];
  return diff == 1;
}

// Both records carry a middle name (second given name) and they cannot be the same name: not
// equal, not nickname-equivalent, and not an initial matching the other's first letter.
bool middle_names_differ(const Demographics& a, const Demographics& b, const NicknameTable* nicknames) {
  if (a.given.size() < 2 || b.given.size() < 2) return false;
  const std::string& ma = a.given[1];
  const std::string& mb = b.given[1];
  if (ma.empty() || mb.empty() || ma == mb) return false;
  if (ma.size() == 1 || mb.size() == 1) return ma[0] != mb[0];
  return !(nicknames && nicknames->equivalent(ma, mb));
}

// How the middle names (second given names) of two records agree: both full and equal, an
// initial that fits (on one or both sides), or neither (missing on a side, or no agreement).
enum class MiddleAgreement { None, Initial, Full };

MiddleAgreement middle_agreement(const Demographics& a, const Demographics& b) {
  if (a.given.size() < 2 || b.given.size() < 2) return MiddleAgreement::None;
  const std::string& ma = a.given[1];
  const std::string& mb = b.given[1];
  if (ma.empty() || mb.empty() || ma[0] != mb[0]) return MiddleAgreement::None;
  if (ma.size() > 1 && ma == mb) return MiddleAgreement::Full;
  return ma.size() == 1 || mb.size() == 1 ? MiddleAgreement::Initial : MiddleAgreement::None;
}

// The values a contact field of the candidate has: the record's own plus the person's.
template <typename Fn>
bool any_value(const std::string& own, const std::vector<std::string>* person_values, Fn&& fn) {
  if (!own.empty() && fn(own)) return true;
  if (person_values)
    for (const auto& v : *person_values)
      if (!v.empty() && fn(v)) return true;
  return false;
}

}  // namespace

void PersonContacts::add(const Demographics& d) {
  auto put = [](std::vector<std::string>& list, const std::string& v) {
    if (!v.empty() && std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
  };
  put(addresses, d.address_line);
  put(phones, d.phone);
  put(emails, d.email);
  put(ssn_last4, d.ssn_last4);
}

const char* field_name(Field f) {
  static constexpr const char* kNames[] = {"family", "given", "birth_date", "sex", "suffix",
                                           "address", "postal_code", "phone", "email", "ssn_last4"};
  return kNames[static_cast<std::size_t>(f)];
}

Comparison RecordComparator::compare(const Demographics& a, const Demographics& b, const NameFrequencies& freq,
                                     const PersonContacts* person) const {
  Comparison c;
  auto set = [&c](Field f, const char* level, double w) {
    c.fields[static_cast<std::size_t>(f)] = {level, w};
  };

  // Family name.
  if (!a.family.empty() && !b.family.empty()) {
    const std::string fa = compact(a.family), fb = compact(b.family);
    if (fa == fb) {
      set(Field::Family, "exact", exact_weight(s_.family_exact, freq.family_u));
    } else {
      bool part_agrees = false;
      for (auto pa : parts(a.family))
        for (auto pb : parts(b.family))
          if (pa.size() >= 3 && pa == pb) part_agrees = true;
      if (part_agrees || similar_spelling(fa, fb))
        set(Field::Family, "similar", std::min(s_.family_similar.weight(), exact_weight(s_.family_exact, freq.family_u)));
      else
        set(Field::Family, "disagree", s_.family_disagree.weight());
    }
  }

  // First given name (middle names consulted for swapped use).
  if (!a.given.empty() && !b.given.empty()) {
    const std::string& ga = a.given[0];
    const std::string& gb = b.given[0];
    const double exact = exact_weight(s_.given_exact, freq.given_u);
    if (ga == gb) {
      set(Field::Given, "exact", exact);
    } else if (s_.nicknames && s_.nicknames->equivalent(ga, gb)) {
      set(Field::Given, "nickname", std::min(s_.given_nickname.weight(), exact));
    } else if ((ga.size() == 1 || gb.size() == 1) && ga[0] == gb[0]) {
      set(Field::Given, "initial", s_.given_initial.weight());
    } else {
      const bool similar = ga.size() > 1 && gb.size() > 1 && similar_spelling(ga, gb);
      // A middle name used as first name: weighs like a spelling variant but never allows an
      // automatic link (a twin's middle name is often the other twin's first name).
      bool middle = false;
      for (std::size_t i = 1; i < b.given.size() && !middle; ++i) middle = b.given[i] == ga && ga.size() > 1;
      for (std::size_t i = 1; i < a.given.size() && !middle; ++i) middle = a.given[i] == gb && gb.size() > 1;
      if (similar) set(Field::Given, "similar", std::min(s_.given_similar.weight(), exact));
      else if (middle) set(Field::Given, "middle_name", std::min(s_.given_similar.weight(), exact));
      else set(Field::Given, "disagree", s_.given_disagree.weight());
    }
  }

  // Birth date.
  std::string_view birth_level;
  if (!a.birth_date.empty() && !b.birth_date.empty()) {
    if (a.birth_date == b.birth_date) {
      set(Field::BirthDate, "exact", s_.birth_exact.weight());
    } else if (swapped_date(a.birth_date) == b.birth_date) {
      set(Field::BirthDate, "day_month_swapped", s_.birth_swapped.weight());
    } else if (edit_distance(date_digits(a.birth_date), date_digits(b.birth_date), 1) <= 1 &&
               !year_digit_replaced(a.birth_date, b.birth_date)) {
      set(Field::BirthDate, "one_typo", s_.birth_typo.weight());
    } else if (std::abs(year_of(a.birth_date) - year_of(b.birth_date)) >= s_.generation_gap_years) {
      set(Field::BirthDate, "disagree", s_.birth_disagree.weight());
      c.guard_weight += s_.generation_gap_weight;
      c.guard = "generation_gap";
    } else {
      set(Field::BirthDate, "disagree", s_.birth_disagree.weight());
    }
    birth_level = c.at(Field::BirthDate).level;
  }

  if (!a.sex.empty() && !b.sex.empty())
    set(Field::Sex, a.sex == b.sex ? "exact" : "disagree",
        a.sex == b.sex ? s_.sex_agree.weight() : s_.sex_disagree.weight());

  if (!a.suffix.empty() && !b.suffix.empty()) {
    if (a.suffix == b.suffix) {
      set(Field::Suffix, "exact", 0.0);
    } else {
      set(Field::Suffix, "disagree", 0.0);
      c.guard_weight += s_.suffix_conflict_weight;
      c.guard = "suffix_conflict";
    }
  }

  // Contact fields, household-correlated: capped together.
  double contact_pos = 0.0, contact_neg = 0.0;
  auto contact = [&](Field f, const char* level, double w) {
    set(f, level, w);
    (w >= 0 ? contact_pos : contact_neg) += w;
  };
  // Each contact field agrees when the incoming value equals any value the candidate person
  // has (this record's or another record's), and disagrees only when none agrees.
  auto has = [](const std::string&) { return true; };
  auto level_of = [&](const std::string& mine, const std::string& own, const std::vector<std::string>* theirs,
                      Field f, const LevelProbability& agree, const LevelProbability& disagree, bool contact_field) {
    if (mine.empty() || !any_value(own, theirs, has)) return;
    const bool equal = any_value(own, theirs, [&mine](const std::string& v) { return v == mine; });
    if (f == Field::Address && !equal &&
        any_value(own, theirs, [&mine](const std::string& v) { return jaro_winkler(mine, v) >= 0.93; })) {
      contact(f, "similar", s_.address_similar.weight());
      return;
    }
    const char* level = equal ? "exact" : "disagree";
    const double w = equal ? agree.weight() : disagree.weight();
    if (contact_field) contact(f, level, w);
    else set(f, level, w);
  };
  level_of(a.address_line, b.address_line, person ? &person->addresses : nullptr, Field::Address, s_.address_agree,
           s_.address_disagree, true);
  if (!a.postal_code.empty() && !b.postal_code.empty())
    contact(Field::Postal, a.postal_code == b.postal_code ? "exact" : "disagree",
            a.postal_code == b.postal_code ? s_.postal_agree.weight() : s_.postal_disagree.weight());
  level_of(a.phone, b.phone, person ? &person->phones : nullptr, Field::Phone, s_.phone_agree, s_.phone_disagree, true);
  level_of(a.email, b.email, person ? &person->emails : nullptr, Field::Email, s_.email_agree, s_.email_disagree, true);
  c.contact_weight = std::min(contact_pos, s_.contact_cap) + std::max(contact_neg, -s_.contact_floor);
  level_of(a.ssn_last4, b.ssn_last4, person ? &person->ssn_last4 : nullptr, Field::Ssn4, s_.ssn4_agree,
           s_.ssn4_disagree, false);

  // Sibling guard: same family name and birth date (or its swap) but a different given name
  // is the signature of twins, not of one person.
  const std::string_view family_level = c.at(Field::Family).level;
  const std::string_view given_level = c.at(Field::Given).level;
  if ((family_level == "exact" || family_level == "similar") &&
      (birth_level == "exact" || birth_level == "day_month_swapped") && given_level == "disagree") {
    c.guard_weight += s_.sibling_weight;
    c.guard = "sibling";
  }

  double score = c.contact_weight + c.guard_weight;
  for (Field f : {Field::Family, Field::Given, Field::BirthDate, Field::Sex, Field::Ssn4}) score += c.at(f).weight;
  c.score = score;
  const bool given_ok = given_level == "exact" || given_level == "nickname" || given_level == "similar";
  bool birth_ok = birth_level == "exact" || birth_level == "day_month_swapped" || birth_level == "one_typo";
  // Names and birth date all exact may link on their own (their weights already reflect how
  // common the names are); any variant among them needs a contact field or the SSN last-4 to
  // agree as well: two different people with one surname and birth date and similar or
  // nickname-equivalent given names are too common in a large population.
  //
  // Corroboration means a field that names one person or one household: the street address,
  // phone, email or SSN last-4 agreeing (a postal code is shared by thousands). A street
  // address, phone or email that disagrees contradicts: in a population of a million, people
  // with the same common name and birth date are many, and it is their differing addresses
  // and phones that tell them apart. So:
  //  - names and birth date all exact link unless nothing corroborates and either a phone or
  //    email disagrees, or the index is large enough for namesakes born the same day to be
  //    expected (population x u(family) x u(given) x u(birth date) above
  //    settings.max_expected_namesakes: a common name in a large index, whether its street
  //    address disagrees or nothing else can be compared);
  //  - any variant (spelling, nickname, a typo in the date, another family name) needs a
  //    household contact or the SSN last-4 to agree; when a contact contradicts, only a
  //    household contact will do; a different family name (marriage) always needs one.
  //  - a sex that disagrees, or middle names that disagree (MARK FRED / MARK BRADLEY; an
  //    initial agrees with its name), make a pair a variant even when the rest is exact.
  const bool sex_differs = std::string_view(c.at(Field::Sex).level) == "disagree";
  const bool middle_differs = middle_names_differ(a, b, s_.nicknames.get());
  const bool all_exact = family_level == "exact" && given_level == "exact" && birth_level == "exact" &&
                         !sex_differs && !middle_differs;
  auto level_is = [&c](Field f, std::string_view level) { return level == c.at(f).level; };
  const bool household_agrees = level_is(Field::Address, "exact") || level_is(Field::Address, "similar") ||
                                level_is(Field::Phone, "exact") || level_is(Field::Email, "exact");
  // A phone or email that disagrees contradicts more than a street address (people move
  // more often than they change number or mailbox).
  const bool strongly_contradicted = level_is(Field::Phone, "disagree") || level_is(Field::Email, "disagree");
  const bool contradicted = strongly_contradicted || level_is(Field::Address, "disagree");
  const bool ssn_agrees = level_is(Field::Ssn4, "exact");
  const bool corroborated = household_agrees || ssn_agrees;
  // Middle names that agree make a namesake that much less likely (a namesake must also carry
  // that middle name or initial).
  const MiddleAgreement middle = middle_agreement(a, b);
  const double middle_factor = middle == MiddleAgreement::Full      ? s_.middle_name_agree_factor
                               : middle == MiddleAgreement::Initial ? s_.middle_initial_agree_factor
                                                                    : 1.0;
  const double others = freq.persons > 0.0 ? freq.persons : freq.population;
  const double expected_namesakes =
      others > 0.0 ? others * (freq.family_u > 0.0 ? freq.family_u : s_.family_exact.u) *
                                  (freq.given_u > 0.0 ? freq.given_u : s_.given_exact.u) * s_.birth_exact.u *
                                  middle_factor
                            : 1.0;
  // A birth date missing on one side: names exact, a household field and the SSN last-4
  // agreeing (a father and son of one name share the household, not the SSN). An e-mail is
  // not enough: addresses are made of names, so namesakes share them more often than u says.
  if (birth_level.empty() && family_level == "exact" && given_level == "exact" && !sex_differs && !middle_differs &&
      ssn_agrees && household_agrees)
    birth_ok = true;
  c.expected_namesakes = expected_namesakes;
  if (!given_ok || !birth_ok) c.hold_reason = "name_or_birth_date_differs";
  else if (c.guard_weight != 0.0) c.hold_reason = c.guard;
  // The SSN last-4 disagreeing, or a sex that disagrees under a given name that is only a
  // variant, is what twins look like (JENNY F / DENNY M, one edit apart, same phone): no
  // household field outweighs it.
  else if (level_is(Field::Ssn4, "disagree")) c.hold_reason = "ssn_last4_differs";
  else if (sex_differs && given_level != "exact") c.hold_reason = "sex_differs";
  else if (all_exact && !corroborated && strongly_contradicted) c.hold_reason = "contact_contradicts";
  else if (all_exact && !corroborated &&
           expected_namesakes * (contradicted ? s_.namesake_address_differs_factor : 1.0) > s_.max_expected_namesakes)
    c.hold_reason = contradicted ? "namesake_possible_address_differs" : "namesake_possible";
  else if (!all_exact && !corroborated)
    c.hold_reason = middle_differs ? "middle_name_differs" : sex_differs ? "sex_differs" : "uncorroborated_variant";
  else if (!all_exact && contradicted && !household_agrees) c.hold_reason = "contact_contradicts";
  // An e-mail is made of names, so namesakes share one more often than u says: for a variant
  // it does not outweigh a phone that disagrees (ROSE NAVARRO, born two days apart).
  else if (!all_exact && level_is(Field::Phone, "disagree") && !level_is(Field::Address, "exact") &&
           !level_is(Field::Address, "similar"))
    c.hold_reason = "contact_contradicts";
  else if (family_level == "disagree" && !household_agrees) c.hold_reason = "family_name_differs_uncorroborated";
  c.names_and_birth_date_only = all_exact && !corroborated;
  c.auto_link_allowed = *c.hold_reason == '\0';
  return c;
}

std::string comparison_json(const Comparison& c) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.SetMaxDecimalPlaces(2);
  w.StartObject();
  w.Key("score");
  w.Double(c.score);
  w.Key("auto_link_allowed");
  w.Bool(c.auto_link_allowed);
  if (*c.guard) {
    w.Key("guard");
    w.String(c.guard);
  }
  if (*c.hold_reason) {
    w.Key("hold_reason");
    w.String(c.hold_reason);
  }
  w.Key("contact_weight");
  w.Double(c.contact_weight);
  w.SetMaxDecimalPlaces(rapidjson::Writer<rapidjson::StringBuffer>::kDefaultMaxDecimalPlaces);
  w.Key("expected_namesakes");
  w.Double(c.expected_namesakes);
  w.SetMaxDecimalPlaces(2);
  w.Key("fields");
  w.StartObject();
  for (std::size_t i = 0; i < c.fields.size(); ++i) {
    if (std::string_view(c.fields[i].level) == "missing") continue;
    w.Key(field_name(static_cast<Field>(i)));
    w.StartObject();
    w.Key("level");
    w.String(c.fields[i].level);
    w.Key("weight");
    w.Double(c.fields[i].weight);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace phrgate::identity
