// Implementation of deterministic resource ids (see resource_id.h), on OpenSSL's SHA-256.
#include "gateway/core/resource_id.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>

// SHA256_* are deprecated in OpenSSL 3 in favour of EVP, but the EVP path allocates a
// context per call; the low-level calls are still supported and allocation-free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace phrgate {
namespace {
constexpr char kHex[] = "0123456789abcdef";

// The hashed byte stream is each part as a 4-byte big-endian length and its bytes. Parts are
// short (ids, codes, URIs), so they are gathered here and handed to SHA-256 in one call:
// an SHA256_Update per length prefix and per part cost more than the hashing itself.
class PartStream {
 public:
  explicit PartStream(SHA256_CTX& ctx) : ctx_(ctx) {}
  void add(std::string_view part) {
    const auto n = static_cast<uint32_t>(part.size());
    if (size_ + 4 + part.size() > sizeof buf_) flush();
    buf_[size_++] = static_cast<unsigned char>(n >> 24);
    buf_[size_++] = static_cast<unsigned char>(n >> 16);
    buf_[size_++] = static_cast<unsigned char>(n >> 8);
    buf_[size_++] = static_cast<unsigned char>(n);
    if (size_ + part.size() > sizeof buf_) {  // a long part: hashed where it lies
      flush();
      SHA256_Update(&ctx_, part.data(), part.size());
      return;
    }
    if (!part.empty()) std::memcpy(buf_ + size_, part.data(), part.size());
    size_ += part.size();
  }
  void flush() {
    if (size_ > 0) SHA256_Update(&ctx_, buf_, size_);
    size_ = 0;
  }

 private:
  SHA256_CTX& ctx_;
  unsigned char buf_[512];
  std::size_t size_ = 0;
};

// Finishes the hash and appends it as the 36-character id.
void append_id(SHA256_CTX& ctx, std::string& out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &ctx);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char id[36];
  std::size_t k = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id[k++] = '-';
    id[k++] = kHex[digest[i] >> 4];
    id[k++] = kHex[digest[i] & 0x0F];
  }
  out.append(id, sizeof id);
}
}  // namespace

void append_resource_id(std::string& out, std::string_view type,
                        std::initializer_list<std::string_view> parts) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  PartStream stream(ctx);
  stream.add(type);
  for (auto p : parts) stream.add(p);
  stream.flush();
  append_id(ctx, out);
}

static_assert(sizeof(SHA256_CTX) <= sizeof(unsigned char[128]) && alignof(SHA256_CTX) <= 16,
              "ResourceIdPrefix::state_ must hold a SHA256_CTX");

ResourceIdPrefix::ResourceIdPrefix(std::string_view type,
                                   std::initializer_list<std::string_view> parts) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  PartStream stream(ctx);
  stream.add(type);
  for (auto p : parts) stream.add(p);
  stream.flush();
  std::memcpy(state_, &ctx, sizeof ctx);
}

std::string ResourceIdPrefix::id(std::initializer_list<std::string_view> more_parts) const {
  SHA256_CTX ctx;
  std::memcpy(&ctx, state_, sizeof ctx);
  PartStream stream(ctx);
  for (auto p : more_parts) stream.add(p);
  stream.flush();
  std::string out;
  out.reserve(36);
  append_id(ctx, out);
  return out;
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
