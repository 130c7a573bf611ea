// Fellegi–Sunter comparison of two normalised Demographics: a comparison level per field,
// its log2 likelihood weight, the household/generation guards, and whether the pair may be
// linked without a person looking at it. Used by PersonIndex for scoring candidates and by
// tests. Pure and thread-safe; the explanation it writes carries levels and weights only,
// never a field value (it is stored and shown to operators as a link reason).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "gateway/identity/demographics.h"
#include "gateway/identity/match_settings.h"

namespace phrgate::identity {

enum class Field { Family, Given, BirthDate, Sex, Suffix, Address, Postal, Phone, Email, Ssn4, Count };

struct FieldOutcome {
  const char* level = "missing";  // "exact", "similar", "nickname", "disagree", ...
  double weight = 0.0;
};

struct Comparison {
  std::array<FieldOutcome, static_cast<std::size_t>(Field::Count)> fields{};
  double contact_weight = 0.0;  // address + postal + phone + email after cap/floor
  double guard_weight = 0.0;    // suffix conflict, generation gap, sibling
  double score = 0.0;
  // False when given name or birth date do not agree (at least similar / one typo), a guard
  // fired, or a name/date variant is not corroborated by a contact field or the SSN
  // last-4: such a pair goes to review at best, whatever its score.
  bool auto_link_allowed = false;
  const char* guard = "";        // name of the guard that fired, "" when none
  const char* hold_reason = "";  // why auto_link_allowed is false, "" when it is true
  // Other persons in the index expected to share family name, given name and birth date (and the
  // middle name, when both give one) with the incoming record by chance.
  double expected_namesakes = 0.0;
  // Names and birth date all exact and nothing naming the person or household agreeing: the
  // link rests on names and birth date alone.
  bool names_and_birth_date_only = false;

  const FieldOutcome& at(Field f) const { return fields[static_cast<std::size_t>(f)]; }
};

// u-probabilities of exact name agreement for the incoming record's own values.
struct NameFrequencies {
  double family_u = 0.0;  // 0: use settings.family_exact.u
  double given_u = 0.0;
  double population = 0.0;  // records in the index (0: unknown, treated as large)
  double persons = 0.0;     // persons in the index (0: use population)
};

// The contact values of every record a candidate person already has. They all describe one
// person, so the incoming record's phone agreeing with the person's other record is as good
// as agreeing with the record compared, and a phone no record of the person shares
// contradicts even when the record compared has none.
struct PersonContacts {
  std::vector<std::string> addresses, phones, emails, ssn_last4;
  void add(const Demographics& d);
};

class RecordComparator {
 public:
  explicit RecordComparator(const MatchSettings& settings) : s_(settings) {}
  // `person`: the contact values of all the candidate person's records (null: only `known`'s).
  Comparison compare(const Demographics& incoming, const Demographics& known, const NameFrequencies& freq = {},
                     const PersonContacts* person = nullptr) const;

 private:
  const MatchSettings& s_;
};

// {"score":..,"auto_link_allowed":..,"guard":..,"fields":{"family":{"level":..,"weight":..},...}}
std::string comparison_json(const Comparison& c);
const char* field_name(Field f);

}  // namespace phrgate::identity
