// Drives the phrgate dashboard in headless chromium (playwright-core, no bundled browser):
// checks the security headers, that a reader token is refused, that an admin sees the
// source, the inbox depth and the failed row, then clicks Replay and checks the audit trail
// (GET /api/audit?action=replay) recorded it. Saves a screenshot and prints its path.
// Usage: node dashboard_test.cjs --chromium BIN --base URL --token-file F --reader-token T --out DIR
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  for (const k of ['chromium', 'base', 'token-file', 'reader-token', 'out'])
    if (!a[k]) { console.error('missing --' + k); process.exit(2); }
  return a;
}

const failures = [];
function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures.push(what);
}

async function apiJson(base, token, target, method) {
  const res = await fetch(base + target, { method: method || 'GET', headers: { Authorization: 'Bearer ' + token } });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  return { status: res.status, body };
}

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + (timeoutMs || 20000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

(async () => {
  const a = args();
  const admin = fs.readFileSync(a['token-file'], 'utf8').trim();
  const base = a.base;

  // The pipeline has converted both messages: one done, one failed (a dead letter).
  const failedRow = await waitFor('a failed message', async () => {
    const q = await apiJson(base, admin, '/api/queues');
    if (q.status !== 200 || q.body.inbox.pending !== 0) return null;
    const d = await apiJson(base, admin, '/api/deadletters');
    if (d.status !== 200) throw new Error('/api/deadletters answered ' + d.status);
    return (d.body.messages || []).find((m) => m.status === 'failed' || m.status === 'rejected') || null;
  });
  check(!!failedRow, 'the bad message is a dead letter (id ' + failedRow.id + ', ' + failedRow.status + ')');

  // Security headers of the page itself.
  const page0 = await fetch(base + '/');
  const csp = page0.headers.get('content-security-policy') || '';
  check(page0.status === 200 && (page0.headers.get('content-type') || '').startsWith('text/html'), 'GET / serves HTML');
  check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), 'CSP allows only same-origin script');
  check(page0.headers.get('x-content-type-options') === 'nosniff', 'X-Content-Type-Options: nosniff');
  const js = await fetch(base + '/dashboard/dashboard.js');
  check(js.status === 200 && (js.headers.get('content-type') || '').startsWith('text/javascript'), 'dashboard.js served as JavaScript');
  check((await fetch(base + '/dashboard/nothing.js')).status === 404, 'unknown dashboard files are 404');

  const browser = await chromium.launch({
    executablePath: a.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1500 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[34]/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  try {
    await page.goto(base + '/', { waitUntil: 'load' });
    await page.waitForSelector('#login-form', { state: 'visible' });

    // A reader token may not see the queues: the page says so and stays on the sign-in form.
    await page.fill('#token', a['reader-token']);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('403'));
    check(true, 'a reader token is refused with a message');

    await page.fill('#token', admin);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main:not(.hidden)');
    await page.waitForSelector('tr[data-source="emr-lab"]');
    const sourceRow = await page.textContent('tr[data-source="emr-lab"]');
    check(sourceRow.includes('emr-lab') && sourceRow.includes('hl7v2_mllp'), 'the source row shows name and type');
    const pending = await page.textContent('[data-stat="pending"]');
    check(pending === '0', 'the inbox depth is shown (pending ' + pending + ')');
    const failedCount = await page.textContent('[data-stat="' + failedRow.status + '"]');
    check(failedCount === '1', 'the ' + failedRow.status + ' count is shown (' + failedCount + ')');
    await page.waitForSelector('tr[data-sink="phr"]');

    const rowSelector = 'tr[data-message="' + failedRow.id + '"]';
    await page.waitForSelector(rowSelector);
    const rowText = await page.textContent(rowSelector);
    check(rowText.includes(failedRow.status) && rowText.includes('DASH-BAD-1'), 'the dead letter is listed with its status and control id');
    await page.waitForSelector('#unmapped table, #unmapped p');
    await page.waitForSelector('#review table, #review p');
    const reviewText = await page.textContent('#review');
    check(reviewText.length > 0, 'the identity review section renders ("' + reviewText.trim().slice(0, 60) + '")');

    await page.click(rowSelector + ' button[data-replay]');
    await page.waitForFunction((id) => document.getElementById('action-status').getAttribute('data-replayed') === String(id), failedRow.id);
    const statusText = await page.textContent('#action-status');
    check(statusText.startsWith('Replay of message ' + failedRow.id), 'the replay outcome is shown: ' + statusText);

    const audited = await waitFor('the replay in the audit trail', async () => {
      const r = await apiJson(base, admin, '/api/audit?action=replay');
      return r.status === 200 && r.body.events.find((e) => e.target_id === String(failedRow.id)) || null;
    }, 5000);
    check(audited.actor === 'dash-admin' && audited.target_type === 'message', 'the audit trail recorded the replay by dash-admin');
    await page.waitForSelector('#audit tr[data-audit-action="replay"]', { timeout: 15000 });
    check(true, 'the dashboard lists the replay among audited actions');

    // A FHIR search by a reader is audited with the person it served; the export is an
    // AuditEvent Bundle (validated against FHIR R4 by run_dashboard_test.sh when it can).
    const search = await apiJson(base, a['reader-token'], '/fhir/Patient?identifier=MRN-DASH-1');
    check(search.status === 200 && search.body.total === 1, 'a reader finds the good message\'s Patient');
    const read = await waitFor('the FHIR search in the audit trail', async () => {
      const r = await apiJson(base, admin, '/api/audit?action=search&actor=dash-reader');
      return r.status === 200 && r.body.events[0] || null;
    }, 5000);
    check(read.person_id !== '' && read.role === 'reader' && read.outcome === 'success', 'the search is audited with the person and role');
    const exported = await apiJson(base, admin, '/api/audit/export');
    const events = (exported.body && exported.body.entry || []).map((e) => e.resource);
    check(exported.status === 200 && exported.body.type === 'collection' && events.some((e) =>
      (e.entity || []).some((en) => en.what && en.what.reference === 'Patient/' + read.person_id)),
    'the export is a Bundle of AuditEvents naming the Patient');
    fs.writeFileSync(path.join(a.out, 'audit-export.ndjson'), JSON.stringify(exported.body) + '\n');

    // Let the charts gather a few samples before the screenshot.
    await page.waitForTimeout(3500);
    const shot = path.join(a.out, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log('screenshot: ' + shot);
    check(consoleErrors.length === 0, 'no script errors in the page' + (consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''));
  } catch (e) {
    failures.push(String(e));
    console.log('FAIL ' + e);
    try { await page.screenshot({ path: path.join(a.out, 'dashboard-failure.png'), fullPage: true }); } catch (_) { /* ignore */ }
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.log(failures.length + ' check(s) failed');
    process.exit(1);
  }
  console.log('all dashboard checks passed');
})().catch((e) => { console.error(e); process.exit(1); });
