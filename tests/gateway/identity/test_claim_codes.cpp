// Adapter tests for ClaimCodeBook on real SQLite files in a temp dir: issue and redeem for a
// held record, for an identifier linked elsewhere and for the person's own identifier; single
// use, expiry (injected clock), revocation, reissue, throttling of wrong codes (kept across a
// reopen), code normalisation, and no code in clear in the file.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "gateway/core/resource_id.h"
#include "gateway/core/sqlite_db.h"
#include "gateway/identity/claim_codes.h"
#include "tests/gateway/identity/identity_test_data.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::identity;
using phrgate::testing::TempDir;
using Status = ClaimRedemption::Status;

namespace {

constexpr int64_t kHourMs = 3600 * 1000;

const Demographics kEmil = test::person("Emil", "Sørensen", "1988-04-09", "M", "40 Cedar Street", "55401",
                                        "6125550177");
const Demographics kAda = test::person("Ada", "Okonkwo", "1972-11-30", "F", "9 Birch Road", "10001", "2125550100");

struct Fixture {
  TempDir dir{"phrgate-claim-codes-"};
  int64_t now = 1'800'000'000'000;
  std::unique_ptr<PersonIndex> index;
  std::unique_ptr<ClaimCodeBook> book;
  Resolution emil, held, ada;

  Fixture() {
    MatchSettings s = test::default_settings();
    s.upper_threshold = 200.0;  // every match is held for review
    index = PersonIndex::open(dir.file("identity.db"), s);
    emil = index->resolve({"urn:h1", "M1"}, kEmil);
    held = index->resolve({"urn:h2", "M2"}, kEmil);
    ada = index->resolve({"urn:h3", "M3"}, kAda);
    REQUIRE(emil.kind == Resolution::Kind::Created);
    REQUIRE(held.kind == Resolution::Kind::Review);
    REQUIRE(ada.kind == Resolution::Kind::Created);
    reopen();
  }
  void reopen() {
    book.reset();
    ClaimCodeBookOptions o;
    o.path = dir.file("identity-claims.db");
    o.now_ms = [this] { return now; };
    book = std::make_unique<ClaimCodeBook>(o);
  }
  IssuedClaim issue(const SourceIdentifier& id) {
    IssuedClaim c = book->issue(*index, id, "ops");
    REQUIRE(c.status == IssuedClaim::Status::Ok);
    return c;
  }
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::string out(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace

TEST_CASE("a code links a held record to the redeeming person", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  CHECK(c.expires_ms == f.now + 72 * kHourMs);
  CHECK(c.replaced == 0);
  REQUIRE(c.code.size() == 11);
  CHECK(c.code[5] == '-');

  const ClaimRedemption r = f.book->redeem(*f.index, c.code, f.emil.person_id);
  REQUIRE(r.status == Status::Linked);
  CHECK(r.action == "link");
  CHECK(r.review_id == f.held.review_id);
  CHECK(r.person_id == f.emil.person_id);
  CHECK(r.actor == "claim:" + std::to_string(c.id));
  CHECK(r.identifier.value == "M2");
  CHECK(f.index->person_of({"urn:h2", "M2"}) == f.emil.person_id);
  CHECK(f.index->list_review(0, 10).total == 0);
  const auto linked = f.index->identifiers_of(f.emil.person_id);
  REQUIRE(linked.size() == 2);
  CHECK(linked[1].actor == r.actor);

  SECTION("it is single use") {
    CHECK(f.book->redeem(*f.index, c.code, f.emil.person_id).status == Status::Refused);
    const auto info = f.book->get(c.id);
    REQUIRE(info);
    CHECK(info->state == ClaimState::Redeemed);
    CHECK(info->person_id == f.emil.person_id);
    CHECK(info->closed_by == r.actor);
  }
}

TEST_CASE("a code moves an identifier linked to another person", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h3", "M3"});
  const ClaimRedemption r = f.book->redeem(*f.index, c.code, f.emil.person_id);
  REQUIRE(r.status == Status::Linked);
  CHECK(r.action == "unlink");
  CHECK(r.review_id == 0);
  CHECK(r.from_person == f.ada.person_id);
  CHECK(r.identifier.system == "urn:h3");
  CHECK(f.index->person_of({"urn:h3", "M3"}) == f.emil.person_id);
  CHECK(f.index->history_of(f.emil.person_id).front().actor == r.actor);
}

TEST_CASE("a code for the person's own identifier changes nothing and is used up", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h1", "M1"});
  const ClaimRedemption r = f.book->redeem(*f.index, c.code, f.emil.person_id);
  CHECK(r.status == Status::Unchanged);
  CHECK(r.action.empty());
  CHECK(f.index->person_of({"urn:h1", "M1"}) == f.emil.person_id);
  CHECK(f.book->get(c.id)->state == ClaimState::Redeemed);
}

TEST_CASE("a merged-away person id redeems for the surviving person", "[identity][claims]") {
  Fixture f;
  REQUIRE(f.index->merge(f.emil.person_id, f.ada.person_id, "ops").status == ActionStatus::Ok);
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  const ClaimRedemption r = f.book->redeem(*f.index, c.code, f.ada.person_id);
  REQUIRE(r.status == Status::Linked);
  CHECK(r.person_id == f.emil.person_id);
}

TEST_CASE("codes expire after their lifetime", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  f.now += 72 * kHourMs;
  CHECK(f.book->get(c.id)->state == ClaimState::Expired);
  CHECK(f.book->list(ClaimState::Expired, 0, 10).total == 1);
  CHECK(f.book->list(ClaimState::Active, 0, 10).total == 0);
  CHECK(f.book->redeem(*f.index, c.code, f.emil.person_id).status == Status::Refused);
  CHECK(f.index->person_of({"urn:h2", "M2"}) == std::nullopt);

  SECTION("the lifetime is set at construction") {
    ClaimCodeBookOptions o;
    o.path = f.dir.file("short.db");
    o.code_lifetime = std::chrono::minutes(10);
    o.now_ms = [&f] { return f.now; };
    ClaimCodeBook book(o);
    const IssuedClaim s = book.issue(*f.index, {"urn:h2", "M2"}, "ops");
    CHECK(s.expires_ms == f.now + 600'000);
    f.now += 599'999;
    CHECK(book.redeem(*f.index, s.code, f.emil.person_id).status == Status::Linked);
  }
}

TEST_CASE("revoked codes are refused", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  CHECK(f.book->revoke(c.id, "ops2") == RevokeStatus::Ok);
  CHECK(f.book->revoke(c.id, "ops2") == RevokeStatus::NotActive);
  CHECK(f.book->revoke(c.id + 100, "ops2") == RevokeStatus::NotFound);
  CHECK(f.book->redeem(*f.index, c.code, f.emil.person_id).status == Status::Refused);
  const auto info = f.book->get(c.id);
  CHECK(info->state == ClaimState::Revoked);
  CHECK(info->closed_by == "ops2");
  CHECK(f.book->list(ClaimState::Revoked, 0, 10).items.size() == 1);
}

TEST_CASE("a new code for the same identifier revokes the previous one", "[identity][claims]") {
  Fixture f;
  const IssuedClaim first = f.issue({"urn:h2", "M2"});
  const IssuedClaim second = f.issue({"urn:h2", "M2"});
  CHECK(second.replaced == 1);
  CHECK(second.id > first.id);
  CHECK(second.code != first.code);
  CHECK(f.book->get(first.id)->closed_by == "reissued");
  CHECK(f.book->redeem(*f.index, first.code, f.emil.person_id).status == Status::Refused);
  CHECK(f.book->redeem(*f.index, second.code, f.emil.person_id).status == Status::Linked);
  // Another identifier's code is untouched by a reissue.
  const IssuedClaim other = f.issue({"urn:h3", "M3"});
  CHECK(f.issue({"urn:h1", "M1"}).replaced == 0);
  CHECK(f.book->get(other.id)->state == ClaimState::Active);
}

TEST_CASE("wrong codes for one person_id are throttled", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  for (int i = 0; i < 5; ++i) {
    CHECK(f.book->redeem(*f.index, "0000000000", f.emil.person_id).status == Status::Refused);
    f.now += 1000;
  }
  ClaimRedemption r = f.book->redeem(*f.index, c.code, f.emil.person_id);
  CHECK(r.status == Status::Throttled);
  CHECK(r.retry_after_s == 15 * 60 - 5);
  CHECK(f.index->person_of({"urn:h2", "M2"}) == std::nullopt);
  // Another person is not affected, and malformed codes count too.
  CHECK(f.book->redeem(*f.index, "not a code", f.ada.person_id).status == Status::Refused);

  // The counter lives in the file: reopening does not clear it.
  f.reopen();
  CHECK(f.book->redeem(*f.index, c.code, f.emil.person_id).status == Status::Throttled);

  // Once the oldest failure leaves the 15-minute window, one attempt is allowed again.
  f.now += (15 * 60 - 5) * 1000;
  r = f.book->redeem(*f.index, c.code, f.emil.person_id);
  CHECK(r.status == Status::Linked);
}

TEST_CASE("an unknown person is refused before the code is looked at", "[identity][claims]") {
  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  for (int i = 0; i < 6; ++i)
    CHECK(f.book->redeem(*f.index, c.code, "no-such-person").status == Status::UnknownPerson);
  CHECK(f.book->get(c.id)->state == ClaimState::Active);
  CHECK(f.book->redeem(*f.index, c.code, f.emil.person_id).status == Status::Linked);
}

TEST_CASE("only identifiers known to the index get codes", "[identity][claims]") {
  Fixture f;
  CHECK(f.book->issue(*f.index, {"urn:h9", "NOPE"}, "ops").status == IssuedClaim::Status::UnknownIdentifier);
  CHECK(f.book->issue(*f.index, {"", "M1"}, "ops").status == IssuedClaim::Status::UnknownIdentifier);
  CHECK(f.book->list(std::nullopt, 0, 10).total == 0);
}

TEST_CASE("typed codes are normalised the Crockford way", "[identity][claims]") {
  CHECK(normalize_claim_code("abcde-fghjk") == std::optional<std::string>("ABCDEFGHJK"));
  CHECK(normalize_claim_code(" o1IlL 23456 ") == std::optional<std::string>("0111123456"));
  CHECK_FALSE(normalize_claim_code("ABCDE-FGHJ"));     // too short
  CHECK_FALSE(normalize_claim_code("ABCDE-FGHJKM"));   // too long
  CHECK_FALSE(normalize_claim_code("ABCDE-FGHJU"));    // U is not in the alphabet
  CHECK_FALSE(normalize_claim_code("ABCDE_FGHJK"));

  Fixture f;
  const IssuedClaim c = f.issue({"urn:h2", "M2"});
  const std::string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (std::size_t i = 0; i < c.code.size(); ++i)
    if (i != 5) CHECK(alphabet.find(c.code[i]) != std::string::npos);
  std::string typed;
  for (char ch : c.code)
    if (ch != '-') typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  CHECK(f.book->redeem(*f.index, typed, f.emil.person_id).status == Status::Linked);
}

TEST_CASE("codes are random and never stored in clear", "[identity][claims]") {
  Fixture f;
  std::set<std::string> codes;
  std::vector<std::string> bare;
  for (const SourceIdentifier& id : {SourceIdentifier{"urn:h1", "M1"}, {"urn:h2", "M2"}, {"urn:h3", "M3"}}) {
    const IssuedClaim c = f.issue(id);
    codes.insert(c.code);
    bare.push_back(c.code.substr(0, 5) + c.code.substr(6));
  }
  CHECK(codes.size() == 3);
  // While open (rows possibly still in the WAL) and after closing (checkpointed).
  std::string stored = file_bytes(f.dir.file("identity-claims.db")) + file_bytes(f.dir.file("identity-claims.db-wal"));
  f.book.reset();
  stored += file_bytes(f.dir.file("identity-claims.db"));
  REQUIRE(stored.size() > 0);
  for (const auto& code : codes) CHECK(stored.find(code) == std::string::npos);
  for (const auto& code : bare) {
    CHECK(stored.find(code) == std::string::npos);
    CHECK(stored.find(phrgate::sha256_hex(code)) == std::string::npos);  // salted, not a bare hash
  }
  phrgate::sqlite::Db db(f.dir.file("identity-claims.db"), true);
  phrgate::sqlite::Stmt q(db, "SELECT code_hash FROM claims");
  int rows = 0;
  while (q.step()) {
    ++rows;
    CHECK(q.column_text(0).size() == 64);
  }
  CHECK(rows == 3);
}
