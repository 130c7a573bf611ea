// Namespace-aware access to a parsed CDA tree (libxml2 nodes): children and attributes are
// matched by namespace URI (urn:hl7-org:v3, urn:hl7-org:sdtc), never by prefix. Views
// returned point into the document and live as long as it does. Header-only, no allocation
// except text_of(). Internal to the C-CDA converter.
#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>

#include "adapters/ccda/secure_xml.h"

namespace phrgate::ccda::xml {

inline std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view{};
}
inline std::string_view ns_of(const xmlNode* n) { return n && n->ns ? sv(n->ns->href) : std::string_view{}; }
inline bool is(const xmlNode* n, std::string_view name, std::string_view ns = kHl7V3Ns) {
  return n && n->type == XML_ELEMENT_NODE && sv(n->name) == name && ns_of(n) == ns;
}
inline std::string_view name_of(const xmlNode* n) { return n ? sv(n->name) : std::string_view{}; }

// Child elements named `name` in `ns` (all elements when name is empty).
class Children {
 public:
  Children(const xmlNode* parent, std::string_view name, std::string_view ns)
      : first_(parent ? parent->children : nullptr), name_(name), ns_(ns) {}
  class iterator {
   public:
    iterator(const xmlNode* n, const Children* c) : n_(n), c_(c) { skip(); }
    const xmlNode* operator*() const { return n_; }
    iterator& operator++() {
      n_ = n_->next;
      skip();
      return *this;
    }
    bool operator!=(const iterator& o) const { return n_ != o.n_; }

   private:
    void skip() {
      while (n_ && !(n_->type == XML_ELEMENT_NODE &&
                     (c_->name_.empty() || (sv(n_->name) == c_->name_ && ns_of(n_) == c_->ns_))))
        n_ = n_->next;
    }
    const xmlNode* n_;
    const Children* c_;
  };
  iterator begin() const { return {first_, this}; }
  iterator end() const { return {nullptr, this}; }

 private:
  const xmlNode* first_;
  std::string_view name_;
  std::string_view ns_;
};

inline Children children(const xmlNode* parent, std::string_view name = {}, std::string_view ns = kHl7V3Ns) {
  return Children(parent, name, ns);
}
inline const xmlNode* child(const xmlNode* parent, std::string_view name, std::string_view ns = kHl7V3Ns) {
  for (const xmlNode* c : children(parent, name, ns)) return c;
  return nullptr;
}
// child(child(...)) along a path of v3 element names.
inline const xmlNode* path(const xmlNode* n, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (!n) return nullptr;
    n = child(n, name);
  }
  return n;
}

// An attribute without namespace (or in `ns`), as a view of its single text value, trimmed.
inline std::string_view attr(const xmlNode* n, std::string_view name, std::string_view ns = {}) {
  if (!n) return {};
  for (const xmlAttr* a = n->properties; a; a = a->next) {
    if (sv(a->name) != name) continue;
    const std::string_view a_ns = a->ns ? sv(a->ns->href) : std::string_view{};
    if (a_ns != ns) continue;
    const xmlNode* t = a->children;
    if (!t || t->next || t->type != XML_TEXT_NODE) return {};
    // Trimmed: senders leave blanks around codes ("46008-9 "), which FHIR codes forbid.
    std::string_view v = sv(t->content);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n' || v.front() == '\r'))
      v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n' || v.back() == '\r'))
      v.remove_suffix(1);
    return v;
  }
  return {};
}
inline bool attr_true(const xmlNode* n, std::string_view name) { return attr(n, name) == "true"; }
inline bool has_null_flavor(const xmlNode* n) { return !attr(n, "nullFlavor").empty(); }

// xsi:type's local part ("PQ" from "PQ" or "v3:PQ").
inline std::string_view xsi_type(const xmlNode* n) {
  std::string_view t = attr(n, "type", kXsiNs);
  const std::size_t colon = t.find(':');
  return colon == std::string_view::npos ? t : t.substr(colon + 1);
}

// True when `n` has a templateId child with this root (any extension).
inline bool has_template(const xmlNode* n, std::string_view root) {
  for (const xmlNode* t : children(n, "templateId"))
    if (attr(t, "root") == root) return true;
  return false;
}

// The text content of `n` and its descendants, whitespace runs collapsed, trimmed.
inline std::string text_of(const xmlNode* n) {
  std::string out;
  if (!n) return out;
  xmlChar* raw = xmlNodeGetContent(n);
  bool space = false;
  for (const char ch : sv(raw)) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  xmlFree(raw);
  return out;
}

}  // namespace phrgate::ccda::xml
