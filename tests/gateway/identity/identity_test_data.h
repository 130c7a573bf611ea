// Small builders for identity tests: a normalised-ready Demographics from a few fields and
// the shipped nickname table. Test code only; all people are invented.
#pragma once

#include <memory>
#include <string>

#include "gateway/identity/demographics.h"
#include "gateway/identity/match_settings.h"
#include "gateway/identity/nickname_table.h"

namespace phrgate::identity::test {

inline Demographics person(std::string given, std::string family, std::string birth_date, std::string sex = "F",
                           std::string address = {}, std::string postal = {}, std::string phone = {},
                           std::string email = {}) {
  Demographics d;
  d.given = {std::move(given)};
  d.family = std::move(family);
  d.birth_date = std::move(birth_date);
  d.sex = std::move(sex);
  d.address_line = std::move(address);
  d.postal_code = std::move(postal);
  d.phone = std::move(phone);
  d.email = std::move(email);
  return d;
}

inline MatchSettings default_settings() {
  MatchSettings s;
  s.nicknames = std::make_shared<NicknameTable>(NicknameTable::load_file(PHRGATE_NICKNAMES_FILE));
  return s;
}

}  // namespace phrgate::identity::test
