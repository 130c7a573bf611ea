// Test-only key material for the FHIR client and phr_fhir sink tests: writes a fresh RSA-2048
// or EC P-384 key pair as PEM files (private key for the client, public key for the Node test
// server's SMART client list). Never used outside tests.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

namespace phrgate::testing {

// Returns (private_key_pem_path, public_key_pem_path) under `dir`.
inline std::pair<std::string, std::string> write_key_pair(const std::string& dir, bool ec_p384,
                                                          const std::string& stem) {
  EVP_PKEY* key = ec_p384 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")
                          : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (!key) throw std::runtime_error("key generation failed");
  std::string priv = dir + "/" + stem + ".key.pem";
  std::string pub = dir + "/" + stem + ".pub.pem";
  FILE* f = std::fopen(priv.c_str(), "w");
  bool ok = f && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (f) std::fclose(f);
  f = std::fopen(pub.c_str(), "w");
  ok = ok && f && PEM_write_PUBKEY(f, key) == 1;
  if (f) std::fclose(f);
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("writing key files failed");
  return {priv, pub};
}

}  // namespace phrgate::testing
