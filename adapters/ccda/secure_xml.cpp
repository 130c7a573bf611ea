// Secure libxml2 parsing (see secure_xml.h). The parser runs with XML_PARSE_NONET and never
// with NOENT/DTDLOAD/DTDATTR/HUGE; SAX hooks stop it at the first DOCTYPE or entity
// declaration and when elements nest deeper than the limit, so hostile documents are refused
// before any expansion happens. Errors go to a per-parse handler, never to stderr.
#include "adapters/ccda/secure_xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <map>
#include <mutex>

namespace phrgate::ccda {
namespace {

// Process-wide libxml2 setup, once: no external entity is ever fetched from the network.
void init_libxml() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
  });
}

struct ParseState {
  int depth = 0;
  int max_depth = 200;
  bool doctype = false;
  bool too_deep = false;
  int error_line = 0;
  std::string error;
};

ParseState* state_of(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  return static_cast<ParseState*>(ctxt->_private);
}

void refuse_dtd(void* ctx) {
  state_of(ctx)->doctype = true;
  xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
}

void on_internal_subset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) { refuse_dtd(ctx); }
void on_entity_decl(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  refuse_dtd(ctx);
}

void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri,
                      int nb_namespaces, const xmlChar** namespaces, int nb_attributes,
                      int nb_defaulted, const xmlChar** attributes) {
  ParseState* st = state_of(ctx);
  if (++st->depth > st->max_depth) {
    st->too_deep = true;
    xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
    return;
  }
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                        nb_defaulted, attributes);
}

void on_end_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri) {
  --state_of(ctx)->depth;
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

// libxml2's message, one line, bounded (it names elements, never attribute values).
std::string clean_message(const char* msg) {
  std::string m = msg ? msg : "malformed XML";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& ch : m)
    if (ch == '\n' || ch == '\r') ch = ' ';
  if (m.size() > 160) m.resize(160);
  return m;
}

void on_parse_error(void* ctx, xmlErrorPtr err) {
  if (!err) return;
  ParseState* st = state_of(ctx);
  if (!st->error.empty() || err->level < XML_ERR_ERROR) return;
  st->error_line = err->line;
  st->error = clean_message(err->message);
}

}  // namespace

XmlDocPtr parse_secure_xml(std::string_view xml, const XmlLimits& limits, std::string& error) {
  init_libxml();
  if (xml.size() > limits.max_bytes) {
    error = "document of " + std::to_string(xml.size()) + " bytes is over the limit of " +
            std::to_string(limits.max_bytes) + " bytes";
    return nullptr;
  }
  if (xml.empty()) {
    error = "empty document";
    return nullptr;
  }
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) {
    error = "out of memory creating the XML parser";
    return nullptr;
  }
  ParseState st;
  st.max_depth = limits.max_depth;
  ctxt->_private = &st;
  ctxt->sax->internalSubset = on_internal_subset;
  ctxt->sax->externalSubset = on_internal_subset;
  ctxt->sax->entityDecl = on_entity_decl;
  ctxt->sax->startElementNs = on_start_element;
  ctxt->sax->endElementNs = on_end_element;
  ctxt->sax->serror = on_parse_error;
  ctxt->sax->warning = nullptr;
  ctxt->sax->error = nullptr;
  ctxt->sax->fatalError = nullptr;
  const int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml.data(), static_cast<int>(xml.size()), "document.xml",
                                    nullptr, options);
  xmlFreeParserCtxt(ctxt);
  XmlDocPtr owned(doc);
  if (st.doctype) {
    error = "document has a DOCTYPE (DTD or entity declarations are not allowed in CDA)";
    return nullptr;
  }
  if (st.too_deep) {
    error = "elements nest deeper than " + std::to_string(limits.max_depth) + " levels";
    return nullptr;
  }
  if (!owned) {
    error = "not well-formed XML" + (st.error_line > 0 ? " at line " + std::to_string(st.error_line) : std::string()) +
            (st.error.empty() ? std::string() : ": " + st.error);
    return nullptr;
  }
  if (owned->intSubset || owned->extSubset) {  // belt and braces: the hooks above stop first
    error = "document has a DOCTYPE (DTD or entity declarations are not allowed in CDA)";
    return nullptr;
  }
  return owned;
}

std::string check_ccda_root(const xmlDoc* doc) {
  const xmlNode* root = doc ? xmlDocGetRootElement(doc) : nullptr;
  if (!root) return "document has no root element";
  const std::string_view name(reinterpret_cast<const char*>(root->name));
  const std::string_view ns = root->ns && root->ns->href ? reinterpret_cast<const char*>(root->ns->href) : "";
  if (name != "ClinicalDocument") return "root element is not a CDA ClinicalDocument";
  if (ns != kHl7V3Ns) return "ClinicalDocument is not in the namespace urn:hl7-org:v3";
  return {};
}

namespace {

struct SchemaErrors {
  int line = 0;
  std::string element;
  bool any = false;
};

void on_schema_error(void* ctx, xmlErrorPtr err) {
  auto* e = static_cast<SchemaErrors*>(ctx);
  if (!err || e->any || err->level < XML_ERR_ERROR) return;
  e->any = true;
  e->line = err->line;
  // Only the element's name: schema messages quote attribute values, which may be PHI.
  if (err->node) {
    const auto* n = static_cast<const xmlNode*>(err->node);
    if (n->name) e->element = reinterpret_cast<const char*>(n->name);
  }
}

// Compiled schemas by path, kept for the life of the process (read-only once compiled).
struct SchemaCache {
  std::mutex mu;
  std::map<std::string, xmlSchemaPtr> schemas;
  std::map<std::string, std::string> failures;
};

SchemaCache& schema_cache() {
  static SchemaCache* cache = new SchemaCache;  // never destroyed: used until exit
  return *cache;
}

xmlSchemaPtr load_schema(const std::string& path, std::string& error) {
  SchemaCache& cache = schema_cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  if (auto it = cache.schemas.find(path); it != cache.schemas.end()) return it->second;
  if (auto it = cache.failures.find(path); it != cache.failures.end()) {
    error = it->second;
    return nullptr;
  }
  SchemaErrors errs;
  xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(path.c_str());
  xmlSchemaPtr schema = nullptr;
  if (pctxt) {
    xmlSchemaSetParserStructuredErrors(pctxt, on_schema_error, &errs);
    schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
  }
  if (!schema) {
    error = "cannot load the CDA schema " + path;
    cache.failures.emplace(path, error);
    return nullptr;
  }
  cache.schemas.emplace(path, schema);
  return schema;
}

}  // namespace

std::optional<std::string> check_ccda_document(std::string_view xml, const CcdaCheckOptions& options) {
  std::string error;
  XmlDocPtr doc = parse_secure_xml(xml, XmlLimits{options.max_bytes, options.max_depth}, error);
  if (!doc) return error;
  if (std::string e = check_ccda_root(doc.get()); !e.empty()) return e;
  if (options.schema_path.empty()) return std::nullopt;
  xmlSchemaPtr schema = load_schema(options.schema_path, error);
  if (!schema) return error;
  xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(schema);
  if (!vctxt) return std::string("out of memory creating the schema validator");
  SchemaErrors errs;
  xmlSchemaSetValidStructuredErrors(vctxt, on_schema_error, &errs);
  const int rc = xmlSchemaValidateDoc(vctxt, doc.get());
  xmlSchemaFreeValidCtxt(vctxt);
  if (rc == 0) return std::nullopt;
  std::string msg = "document does not conform to the CDA R2 schema";
  if (errs.line > 0) msg += " at line " + std::to_string(errs.line);
  if (!errs.element.empty()) msg += " (element " + errs.element + ")";
  return msg;
}

}  // namespace phrgate::ccda
