// SMART Backend Services client assertions: a JWT signed RS384 or ES384 with the client's
// private key (OpenSSL EVP), and the base64url / form-encoding helpers the token requests use.
// Used by FhirHttpClient's token fetch and by its unit tests. Never logs key material or
// the signed assertion.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/common/fhir_client/fhir_http_client.h"

namespace phrgate::fhir_client {

std::string base64url_encode(std::string_view bytes);
// Decodes base64url (padding optional); throws std::runtime_error on bad input.
std::string base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
// application/x-www-form-urlencoded component encoding.
std::string form_encode(std::string_view text);

// A private key loaded once from a PEM file and checked against the algorithm (RSA for
// RS384, EC on P-384 for ES384). Throws std::runtime_error (no key material in the text).
class JwtSigner {
 public:
  JwtSigner(const std::string& pem_file, JwtAlg alg);
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  JwtAlg alg() const { return alg_; }
  // The JWS signature over `signing_input` in JWS form (ES384: raw R||S, 96 bytes).
  std::string sign(std::string_view signing_input) const;

 private:
  struct Key;
  std::unique_ptr<Key> key_;
  JwtAlg alg_;
};

// A client assertion: header {alg, typ:"JWT", kid}, claims {iss=sub=client_id, aud,
// exp=now+lifetime (at most 300 s), jti}. An empty jti gets a random one.
std::string make_client_assertion(const JwtSigner& signer, std::string_view client_id,
                                  std::string_view audience, std::string_view key_id,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds lifetime = std::chrono::seconds(240),
                                  std::string jti = {});

// 16 random bytes, hex.
std::string random_jti();

}  // namespace phrgate::fhir_client
