// Unit tests of the SMART Backend Services client assertion and the client's pure helpers:
// the JWT's header and claims, its RS384 / ES384 signature verified here with OpenSSL and the
// public key, base64url, Retry-After parsing, Bundle next links and URL resolution.
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <cstdio>

#include "adapters/common/fhir_client/fhir_http_client.h"
#include "adapters/common/fhir_client/smart_jwt.h"
#include "tests/adapters/fhir_client/test_keys.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::fhir_client;

namespace {

EVP_PKEY* read_public_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f);
  EVP_PKEY* key = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(key);
  return key;
}

// Verifies a JWS signature (ES384 in raw R||S form, converted back to DER for OpenSSL).
bool verify(const std::string& pub_path, bool ec, const std::string& input, std::string sig) {
  EVP_PKEY* key = read_public_key(pub_path);
  if (ec) {
    REQUIRE(sig.size() == 96);
    ECDSA_SIG* s = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 48, nullptr);
    BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 48, 48, nullptr);
    ECDSA_SIG_set0(s, r, ss);
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(s, &der);
    sig.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha384(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

struct Jwt {
  std::string input, header, claims, signature;
};

Jwt split(const std::string& jwt) {
  auto a = jwt.find('.');
  auto b = jwt.find('.', a + 1);
  REQUIRE(b != std::string::npos);
  return {jwt.substr(0, b), base64url_decode(jwt.substr(0, a)), base64url_decode(jwt.substr(a + 1, b - a - 1)),
          base64url_decode(jwt.substr(b + 1))};
}

}  // namespace

TEST_CASE("client assertions are signed RS384 and ES384 with the right claims", "[fhir_client][jwt]") {
  phrgate::testing::TempDir dir;
  bool ec = GENERATE(false, true);
  auto [priv, pub] = phrgate::testing::write_key_pair(dir.path(), ec, ec ? "ec" : "rsa");
  JwtSigner signer(priv, ec ? JwtAlg::ES384 : JwtAlg::RS384);
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  std::string jwt = make_client_assertion(signer, "client-1", "https://auth.example/token", "key-7", now,
                                          std::chrono::seconds(240), "jti-1");
  CHECK(jwt.find('=') == std::string::npos);  // base64url without padding
  Jwt parts = split(jwt);
  rapidjson::Document header, claims;
  header.Parse(parts.header.c_str());
  claims.Parse(parts.claims.c_str());
  CHECK(std::string(header["alg"].GetString()) == (ec ? "ES384" : "RS384"));
  CHECK(std::string(header["typ"].GetString()) == "JWT");
  CHECK(std::string(header["kid"].GetString()) == "key-7");
  CHECK(std::string(claims["iss"].GetString()) == "client-1");
  CHECK(std::string(claims["sub"].GetString()) == "client-1");
  CHECK(std::string(claims["aud"].GetString()) == "https://auth.example/token");
  CHECK(claims["exp"].GetInt64() == 1700000240);
  CHECK(std::string(claims["jti"].GetString()) == "jti-1");
  CHECK(verify(pub, ec, parts.input, parts.signature));
  CHECK_FALSE(verify(pub, ec, parts.input + "x", parts.signature));

  // A lifetime over five minutes is capped; jtis are unique.
  Jwt capped = split(make_client_assertion(signer, "c", "a", "k", now, std::chrono::seconds(3600)));
  claims.Parse(capped.claims.c_str());
  CHECK(claims["exp"].GetInt64() == 1700000300);
  CHECK(random_jti() != random_jti());
}

TEST_CASE("a key that does not fit the algorithm is refused", "[fhir_client][jwt]") {
  phrgate::testing::TempDir dir;
  auto rsa = phrgate::testing::write_key_pair(dir.path(), false, "rsa");
  auto ec = phrgate::testing::write_key_pair(dir.path(), true, "ec");
  CHECK_THROWS(JwtSigner(rsa.first, JwtAlg::ES384));
  CHECK_THROWS(JwtSigner(ec.first, JwtAlg::RS384));
  CHECK_THROWS(JwtSigner(dir.file("missing.pem"), JwtAlg::RS384));
}

TEST_CASE("base64url and form encoding", "[fhir_client]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64url_decode("-_8") == "\xfb\xff");
  CHECK(base64url_decode(base64url_encode("any text here!")) == "any text here!");
  CHECK_THROWS(base64url_decode("a*b"));
  CHECK(form_encode("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9");
}

TEST_CASE("Retry-After, Bundle next links and URL resolution", "[fhir_client]") {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("120", now) == std::chrono::seconds(120));
  CHECK(parse_retry_after(" 0 ", now) == std::chrono::seconds(0));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now) == std::chrono::seconds(30));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == std::chrono::seconds(0));
  CHECK_FALSE(parse_retry_after("soon", now).has_value());
  CHECK_FALSE(parse_retry_after("", now).has_value());

  CHECK(bundle_next_link(R"({"resourceType":"Bundle","link":[{"relation":"self","url":"a"},)"
                         R"({"relation":"next","url":"https://h/fhir/Patient?_page=2"}]})") ==
        std::optional<std::string>("https://h/fhir/Patient?_page=2"));
  CHECK_FALSE(bundle_next_link(R"({"resourceType":"Bundle","link":[{"relation":"self","url":"a"}]})"));
  CHECK_FALSE(bundle_next_link("not json"));

  FhirHttpClient client(ClientOptions{"https://phr.example.org/fhir"});
  CHECK(client.resolve("") == "https://phr.example.org:443/fhir");
  CHECK(client.resolve("Patient?identifier=a|b") == "https://phr.example.org:443/fhir/Patient?identifier=a|b");
  CHECK(client.resolve("/Patient/1") == "https://phr.example.org:443/fhir/Patient/1");
  CHECK(client.resolve("http://other:8080/x?y") == "http://other:8080/x?y");
  CHECK_THROWS(FhirHttpClient(ClientOptions{"ftp://x"}));
  ClientOptions missing_ca{"https://x/fhir"};
  missing_ca.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS(FhirHttpClient(missing_ca));
}
