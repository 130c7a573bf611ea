// Implementation of deterministic resource ids (see resource_id.h), on OpenSSL's SHA-256.
#include "gateway/core/resource_id.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>

// SHA256_* are deprecated in OpenSSL 3 in favour of EVP, but the EVP path allocates a
// context per call; the low-level calls are still supported and allocation-free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace phrgate {
namespace {
constexpr char kHex[] = "0123456789abcdef";

void update_part(SHA256_CTX& ctx, std::string_view part) {
  unsigned char len[4];
  auto n = static_cast<uint32_t>(part.size());
  len[0] = static_cast<unsigned char>(n >> 24);
  len[1] = static_cast<unsigned char>(n >> 16);
  len[2] = static_cast<unsigned char>(n >> 8);
  len[3] = static_cast<unsigned char>(n);
  SHA256_Update(&ctx, len, sizeof len);
  SHA256_Update(&ctx, part.data(), part.size());
}
}  // namespace

void append_resource_id(std::string& out, std::string_view type,
                        std::initializer_list<std::string_view> parts) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  update_part(ctx, type);
  for (auto p : parts) update_part(ctx, p);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &ctx);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 4122 variant
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0F]);
  }
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string out;
  out.reserve(64);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}
bool is_fhir_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string derive_resource_id(std::string_view type, std::initializer_list<std::string_view> parts) {
  std::string out;
  out.reserve(36);
  append_resource_id(out, type, parts);
  return out;
}

}  // namespace phrgate

#pragma GCC diagnostic pop
