// Implementation of the SMART Backend Services client assertion (see smart_jwt.h): RS384 is
// PKCS#1 v1.5 over SHA-384; ES384 converts OpenSSL's DER ECDSA-Sig into the raw R||S form
// JWS requires (RFC 7518 3.4). Error texts name the file and the problem, never key bytes.
#include "adapters/common/fhir_client/smart_jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace phrgate::fhir_client {
namespace {

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode_with(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  while (i + 3 <= bytes.size()) {
    uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                 uint32_t(uint8_t(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
    i += 3;
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode_with(bytes, kB64Url, false); }
std::string base64_encode(std::string_view bytes) { return encode_with(bytes, kB64, true); }

std::string base64url_decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else throw std::runtime_error("invalid base64url character");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string form_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string random_jti() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

struct JwtSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

JwtSigner::JwtSigner(const std::string& pem_file, JwtAlg alg) : key_(std::make_unique<Key>()), alg_(alg) {
  FILE* f = std::fopen(pem_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot open private key file " + pem_file);
  key_->pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key_->pkey) throw std::runtime_error("cannot read a PEM private key from " + pem_file);
  int id = EVP_PKEY_get_base_id(key_->pkey);
  if (alg == JwtAlg::RS384) {
    if (id != EVP_PKEY_RSA) throw std::runtime_error("RS384 needs an RSA private key: " + pem_file);
  } else {
    char group[64] = {0};
    std::size_t len = 0;
    if (id != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(key_->pkey, "group", group, sizeof group, &len) != 1 ||
        OBJ_sn2nid(group) != NID_secp384r1)
      throw std::runtime_error("ES384 needs an EC P-384 private key: " + pem_file);
  }
}

JwtSigner::~JwtSigner() = default;

std::string JwtSigner::sign(std::string_view signing_input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) throw std::runtime_error("EVP_MD_CTX_new failed");
  std::string der;
  std::size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    der.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                        reinterpret_cast<const unsigned char*>(signing_input.data()),
                        signing_input.size()) == 1;
    der.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("JWT signing failed");
  if (alg_ == JwtAlg::RS384) return der;

  // ES384: DER SEQUENCE { r INTEGER, s INTEGER } -> r || s, each left-padded to 48 bytes.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) throw std::runtime_error("cannot decode the ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(96, '\0');
  bool padded = BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 48) == 48 &&
                BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 48, 48) == 48;
  ECDSA_SIG_free(sig);
  if (!padded) throw std::runtime_error("ECDSA signature does not fit P-384");
  return raw;
}

std::string make_client_assertion(const JwtSigner& signer, std::string_view client_id,
                                  std::string_view audience, std::string_view key_id,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds lifetime, std::string jti) {
  if (lifetime > std::chrono::seconds(300)) lifetime = std::chrono::seconds(300);
  if (jti.empty()) jti = random_jti();
  rapidjson::StringBuffer header_buf;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(header_buf);
    w.StartObject();
    w.Key("alg");
    write_string(w, signer.alg() == JwtAlg::RS384 ? "RS384" : "ES384");
    w.Key("typ");
    w.String("JWT");
    if (!key_id.empty()) {
      w.Key("kid");
      write_string(w, key_id);
    }
    w.EndObject();
  }
  rapidjson::StringBuffer claims_buf;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(claims_buf);
    int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch() + lifetime).count();
    w.StartObject();
    w.Key("iss");
    write_string(w, client_id);
    w.Key("sub");
    write_string(w, client_id);
    w.Key("aud");
    write_string(w, audience);
    w.Key("exp");
    w.Int64(exp);
    w.Key("jti");
    write_string(w, jti);
    w.EndObject();
  }
  std::string input = base64url_encode({header_buf.GetString(), header_buf.GetSize()}) + "." +
                      base64url_encode({claims_buf.GetString(), claims_buf.GetSize()});
  std::string signature = signer.sign(input);
  return input + "." + base64url_encode(signature);
}

}  // namespace phrgate::fhir_client
