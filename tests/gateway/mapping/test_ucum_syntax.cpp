// Tests for gateway/mapping/ucum_syntax: a table of valid and invalid UCUM codes, and the
// wording of the errors a hospital's IT staff will read (what is wrong, where, and a hint).
#include <catch2/catch.hpp>

#include <string>

#include "gateway/mapping/ucum_syntax.h"

using phrgate::mapping::is_valid_ucum;
using phrgate::mapping::ucum_syntax_error;

TEST_CASE("Valid UCUM codes pass") {
  // clang-format off
  const char* valid[] = {
      "mg/dL",       "10*3/uL",     "10*6/uL",      "10*-3",        "10^3",        "mm[Hg]",
      "cm[H2O]",     "kg/m2",       "{cells}/uL",   "%",            "/min",        "mL/min/{1.73_m2}",
      "u[IU]/mL",    "[IU]/L",      "m[IU]/mL",     "meq/L",        "mmol/L",      "umol/L",
      "[lb_av]",     "[in_i]",      "[degF]",       "Cel",          "K",           "s-1",
      "m2.s-1",      "m+2",         "g.m-2",        "(m/s)",        "U/(10.g){feces}",
      "/100{Spermatozoa}",          "{ratio}",      "1",            "100",         "kat/kg",
      "Pa",          "cd",          "dam",          "mPa",          "kPa",         "ng/mL",
      "g%",          "%[slope]",    "[pH]",         "B[10.nV]",     "[ppm]",       "fL",
      "h",           "d",           "wk",           "mo",           "a",           "mL/h",
      "mg/(24.h)",   "[iU]",        "ug/dL",        "kg",           "L/min",       "{score}",
  };
  // clang-format on
  for (const char* code : valid) {
    INFO(code);
    CHECK(ucum_syntax_error(code) == "");
    CHECK(is_valid_ucum(code));
  }
}

TEST_CASE("Invalid UCUM codes are refused with what is wrong and where") {
  struct Case {
    const char* code;
    const char* error;
  };
  const Case invalid[] = {
      {"", "empty unit code"},
      {"mg//dL", "missing unit between '/' and '/' at position 3"},
      {"10*",
       "'10*' at position 1 needs an exponent (e.g. 10*3); a bare power of ten is taken as "
       "truncated"},
      {"10^",
       "'10^' at position 1 needs an exponent (e.g. 10*3); a bare power of ten is taken as "
       "truncated"},
      {"kg/m^2",
       "'^' at position 5 is not UCUM syntax: write the exponent as digits right after the "
       "unit (m2, s-1) and powers of ten as 10*3"},
      {"mmHg", "unknown unit 'mmHg' at position 1 (did you mean mm[Hg]?)"},
      {"(mg", "missing ')' for the '(' at position 1"},
      {"mg)", "unmatched ')' at position 3"},
      {"()", "empty parentheses at position 1"},
      {"mg/", "missing unit after '/' at the end"},
      {"/", "nothing after the leading '/'"},
      {".mg", "missing unit before '.' at position 1"},
      {"2mg", "number '2' at position 1 must be joined to the unit after it with '.'"},
      {"mg dL", "space at position 3 (UCUM codes contain no spaces)"},
      {"\xC2\xB5g", "non-ASCII character at position 1 (UCUM is plain ASCII: 'u' for micro)"},
      {"mEq/L", "unknown unit 'mEq' at position 1 (did you mean meq?)"},
      {"IU/L", "unknown unit 'IU' at position 1 (did you mean [IU]?)"},
      {"mcg", "unknown unit 'mcg' at position 1 (did you mean ug?)"},
      {"kh", "unit 'kh' at position 1: prefix 'k' on 'h', but prefixes only go with metric units"},
      {"k[lb_av]",
       "unit 'k[lb_av]' at position 1: prefix 'k' on '[lb_av]', but prefixes only go "
       "with metric units"},
      {"m+", "sign without exponent digits at position 2"},
      {"(m/s)2", "exponent at position 6 can only follow a unit atom, not a number, ')' or '}'"},
      {"{x}2", "exponent at position 4 can only follow a unit atom, not a number, ')' or '}'"},
      {"[in_i", "missing ']' for the '[' at position 1"},
      {"mg]", "unmatched ']' at position 3"},
      {"{abc", "missing '}' for the '{' at position 1"},
      {"{a b}",
       "space at position 3 inside an annotation (UCUM allows ASCII 33-126 there; use '_' "
       "for spaces)"},
      {"{a{b}}", "'{' inside the annotation that starts at position 1"},
      {"mg*2",
       "'*' at position 3 is not UCUM syntax: write the exponent as digits right after the "
       "unit (m2, s-1) and powers of ten as 10*3"},
      {"cmH2O", "unknown unit 'cmH' at position 1 (did you mean cm[H2O]?)"},
      {"degF", "unknown unit 'degF' at position 1 (did you mean [degF]?)"},
      {"[foo]", "unknown unit '[foo]' at position 1"},
  };
  for (const Case& c : invalid) {
    INFO(c.code);
    CHECK(ucum_syntax_error(c.code) == c.error);
    CHECK_FALSE(is_valid_ucum(c.code));
  }
}

TEST_CASE("Deeply nested parentheses are refused without deep recursion") {
  std::string code(200, '(');
  code += "m";
  code += std::string(200, ')');
  CHECK(ucum_syntax_error(code) == "parentheses nested too deeply at position 17");
  CHECK(is_valid_ucum("((((m))))"));
}
