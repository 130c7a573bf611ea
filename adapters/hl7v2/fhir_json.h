// FhirJson: a small streaming JSON writer for the HL7 v2 -> FHIR converter (hot path).
// One instance is reused for every resource of every message on a thread (reset() keeps the
// buffer's capacity). Plain text is copied in runs (memcpy), only '"', '\\' and control
// characters are escaped; RapidJSON's Writer was measured at ~2x the instructions per
// message because it escapes and copies character by character. Output is always valid
// UTF-8 (bytes that are not UTF-8 are read as ISO-8859-1). It writes what callers ask:
// callers use the *_if helpers so that no empty string is ever written.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace phrgate::hl7v2::detail {

class FhirJson {
 public:
  FhirJson() { grow(4096); }
  FhirJson(const FhirJson&) = delete;
  FhirJson& operator=(const FhirJson&) = delete;

  void reset() {
    size_ = 0;
    depth_ = 0;
    after_key_ = false;
  }
  std::string_view view() const { return {data_.get(), size_}; }

  // k: one of the converter's own property names (ASCII, nothing to escape).
  void key(std::string_view k) {
    separate();
    reserve(k.size() + 3);
    put('"');
    put(k);
    put('"');
    put(':');
    after_key_ = true;
  }
  // The same for a string literal (most keys): its length is a constant, so the copy
  // compiles to a few moves instead of a memcpy call. Only for literals ("id", not a buffer).
  template <std::size_t N>
  void key(const char (&k)[N]) {
    static_assert(N > 1, "a key is never empty");
    separate();
    reserve(N + 2);
    put('"');
    std::memcpy(data_.get() + size_, k, N - 1);
    size_ += N - 1;
    put('"');
    put(':');
    after_key_ = true;
  }
  void string(std::string_view v);  // v must not be empty (FHIR forbids "")
  void boolean(bool b) {
    separate();
    append(b ? std::string_view("true") : std::string_view("false"));
  }
  void integer(int64_t n);
  // A JSON number given as text that the caller has already normalized (see fhir_decimal()).
  void number(std::string_view n) {
    separate();
    append(n);
  }
  // Appends members this writer rendered earlier at the same place in an object of the
  // same shape (after at least one member, so `members` is empty or starts with ',').
  void append_members(std::string_view members) { append(members); }
  // A value already serialized as JSON (a constant the caller wrote as this writer would).
  void raw_value(std::string_view json) {
    separate();
    append(json);
  }
  void start_object() { open('{'); }
  void end_object() { close('}'); }
  void start_array() { open('['); }
  void end_array() { close(']'); }

  // key + string, skipped when `v` is empty.
  void string_if(std::string_view k, std::string_view v) {
    if (!v.empty()) {
      key(k);
      string(v);
    }
  }
  template <std::size_t N>
  void string_if(const char (&k)[N], std::string_view v) {
    if (!v.empty()) {
      key(k);
      string(v);
    }
  }
  // {"coding":[{"system":..,"code":..,"display":..}]}: a CodeableConcept with one coding.
  void codeable_concept(std::string_view system, std::string_view code, std::string_view display) {
    start_object();
    key("coding");
    start_array();
    coding(system, code, display);
    end_array();
    end_object();
  }
  // "key": the same.
  void codeable_concept(std::string_view k, std::string_view system, std::string_view code,
               std::string_view display) {
    key(k);
    codeable_concept(system, code, display);
  }
  // {"system":..,"code":..,"display":..}, each part skipped when empty.
  // "key":{"reference":"<ref>"}
  void reference(std::string_view k, std::string_view ref) {
    key(k);
    start_object();
    key("reference");
    string(ref);
    end_object();
  }
  void coding(std::string_view system, std::string_view code, std::string_view display) {
    start_object();
    string_if("system", system);
    string_if("code", code);
    string_if("display", display);
    end_object();
  }

 private:
  static constexpr int kMaxDepth = 32;  // FHIR resources here nest < 10 levels
  // Writes the comma before a value unless it follows a key or opens a container.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ > 0) {
      if (!first_[depth_]) append(',');
      first_[depth_] = false;
    }
  }
  void open(char bracket) {
    separate();
    append(bracket);
    if (depth_ + 1 < kMaxDepth) first_[++depth_] = true;
  }
  void close(char bracket) {
    append(bracket);
    if (depth_ > 0) --depth_;
  }

  // The output buffer: a plain growable byte array (std::string re-checks capacity and
  // keeps a terminator on every push_back, which showed up in profiles).
  void grow(std::size_t min_capacity) {
    std::size_t cap = capacity_ ? capacity_ : 4096;
    while (cap < min_capacity) cap *= 2;
    auto bigger = std::make_unique<char[]>(cap);
    if (size_) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = cap;
  }
  void reserve(std::size_t extra) {
    if (size_ + extra > capacity_) grow(size_ + extra);
  }
  // put(): only after reserve() covered it.
  void put(char ch) { data_[size_++] = ch; }
  void put(std::string_view s) {
    std::memcpy(data_.get() + size_, s.data(), s.size());
    size_ += s.size();
  }
  void append(char ch) {
    reserve(1);
    put(ch);
  }
  void append(std::string_view s) {
    reserve(s.size());
    put(s);
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool first_[kMaxDepth] = {};
  int depth_ = 0;
  bool after_key_ = false;
};

// Normalizes an HL7 NM value ("+007.50", "-.5", "12.") into a JSON/FHIR decimal ("7.50",
// "-0.5", "12"), keeping significant trailing zeros. Returns false when `nm` is not a number
// (empty, letters, several dots, exponent...). Appends to `out` only on success.
bool fhir_decimal(std::string_view nm, std::string& out);

}  // namespace phrgate::hl7v2::detail
