// phrgate dashboard logic: asks for an API token (kept in sessionStorage), then polls the
// daemon's own API (/api/queues, /api/deadletters, /api/unmapped, /api/identity/review,
// /api/audit) and draws tables and two small canvas charts. Routes the daemon does not have
// (404) or the token may not use (403) show "not available" instead of breaking the page.
// Never uses innerHTML with data: everything received is inserted as text.
'use strict';

(function () {
  const TOKEN_KEY = 'phrgate.token';
  const SAMPLE_MS = 3000;
  const LISTS_MS = 10000;
  const RING = 120;  // samples kept for the charts (6 minutes at 3 s)

  const $ = (id) => document.getElementById(id);
  const samples = [];
  let timers = [];
  let lastTotals = null;

  // ---- API ------------------------------------------------------------------------------
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  async function api(path, options) {
    const opts = Object.assign({ method: 'GET', headers: {} }, options || {});
    opts.headers = Object.assign({ Authorization: 'Bearer ' + token(), Accept: 'application/json' }, opts.headers);
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { status: 0, data: null };
    }
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    if (res.status === 401) signOut('The token was not accepted.');
    return { status: res.status, data: data };
  }

  function issueText(data) {
    if (data && data.resourceType === 'OperationOutcome' && data.issue && data.issue[0])
      return data.issue[0].diagnostics || data.issue[0].code || '';
    return '';
  }

  // ---- DOM helpers ---------------------------------------------------------------------
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children || []) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }

  function replace(container, node) {
    container.textContent = '';
    container.appendChild(node);
  }

  function notAvailable(container, status) {
    const why = status === 404 ? 'not available on this gateway'
      : status === 403 ? 'not available with this token (needs a higher role)'
        : status === 0 ? 'not available (the gateway did not answer)'
          : 'not available (HTTP ' + status + ')';
    replace(container, el('p', { class: 'unavailable', text: why, 'data-state': 'unavailable' }));
  }

  function table(headers, rows) {
    const thead = el('thead', {}, [el('tr', {}, headers.map((h) => el('th', { text: h.label, class: h.num ? 'num' : '' })))]);
    const tbody = el('tbody', {}, rows);
    return el('table', {}, [thead, tbody]);
  }

  function cell(value, cls) { return el('td', { text: value === undefined || value === null ? '' : String(value), class: cls || '' }); }
  function rate(r, w) { return r ? r[w].toFixed(2) : '–'; }
  function empty(text) { return el('p', { class: 'muted', text: text, 'data-state': 'empty' }); }

  function stat(label, value, bad) {
    return el('div', { class: 'stat' + (bad ? ' bad' : '') }, [
      el('div', { class: 'value', text: String(value), 'data-stat': label }),
      el('div', { class: 'label', text: label })]);
  }

  // ---- Queues, sources, sinks, charts --------------------------------------------------
  function counter(obj, names) {
    let total = 0;
    for (const n of names) if (typeof obj[n] === 'number') total += obj[n];
    return total;
  }

  function renderQueues(q) {
    const ib = q.inbox || {};
    replace($('inbox'), el('div', { class: 'stats' }, [
      stat('pending', ib.pending), stat('oldest pending (s)', (ib.oldest_pending_age_s || 0).toFixed(1)),
      stat('done', ib.done), stat('failed', ib.failed, ib.failed > 0), stat('rejected', ib.rejected, ib.rejected > 0)]));

    const srcRows = (q.sources || []).map((s) => {
      const r = s.rates || {};
      return el('tr', { 'data-source': s.name }, [
        cell(s.name), cell(s.type), cell(s.port || ''),
        cell(counter(s, ['received', 'messages_committed', 'documents_committed']), 'num'),
        cell(rate(r.in, '1m'), 'num'), cell(rate(r.in, '5m'), 'num'), cell(rate(r.in, '15m'), 'num'),
        cell(r.errors ? r.errors.total : counter(s, ['rejected', 'commit_failures', 'messages_rejected']), 'num'),
        cell(rate(r.errors, '1m'), 'num')]);
    });
    replace($('sources'), srcRows.length ? table([
      { label: 'Name' }, { label: 'Type' }, { label: 'Port' }, { label: 'Received', num: 1 },
      { label: 'In/s 1m', num: 1 }, { label: '5m', num: 1 }, { label: '15m', num: 1 },
      { label: 'Errors', num: 1 }, { label: 'Errors/s 1m', num: 1 }], srcRows) : empty('No sources configured.'));

    const sinkRows = (q.sinks || []).map((s) => {
      const r = s.rates || {};
      return el('tr', { 'data-sink': s.name }, [
        cell(s.name), cell(s.type), cell(counter(s, ['delivered']), 'num'),
        cell(rate(r.out, '1m'), 'num'), cell(rate(r.out, '5m'), 'num'), cell(rate(r.out, '15m'), 'num'),
        cell(r.errors ? r.errors.total : counter(s, ['errors']), 'num'), cell(rate(r.errors, '1m'), 'num')]);
    });
    replace($('sinks'), sinkRows.length ? table([
      { label: 'Name' }, { label: 'Type' }, { label: 'Delivered', num: 1 },
      { label: 'Out/s 1m', num: 1 }, { label: '5m', num: 1 }, { label: '15m', num: 1 },
      { label: 'Errors', num: 1 }, { label: 'Errors/s 1m', num: 1 }], sinkRows) : empty('No destinations configured.'));
  }

  // Per-second rates between two samples, from the cumulative totals.
  function sample(q) {
    const now = Date.now();
    const totals = {
      in: (q.sources || []).reduce((a, s) => a + counter(s, ['received', 'messages_committed', 'documents_committed']), 0),
      out: (q.sinks || []).reduce((a, s) => a + counter(s, ['delivered']), 0),
      err: (q.sinks || []).reduce((a, s) => a + counter(s, ['errors']), 0) +
        (q.sources || []).reduce((a, s) => a + counter(s, ['rejected', 'commit_failures', 'messages_rejected']), 0),
    };
    let r = { in: 0, out: 0, err: 0 };
    if (lastTotals && now > lastTotals.t) {
      const dt = (now - lastTotals.t) / 1000;
      for (const k of ['in', 'out', 'err']) r[k] = Math.max(0, (totals[k] - lastTotals[k]) / dt);
    }
    lastTotals = Object.assign({ t: now }, totals);
    samples.push({ t: now, depth: (q.inbox || {}).pending || 0, rate: r });
    while (samples.length > RING) samples.shift();
  }

  function drawChart(canvas, series) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height, pad = 28;
    ctx.clearRect(0, 0, w, h);
    let max = 1;
    for (const s of series) for (const v of s.values) max = Math.max(max, v);
    const step = (w - pad - 6) / (RING - 1);
    ctx.strokeStyle = '#dde1e7';
    ctx.fillStyle = '#6a7383';
    ctx.font = '11px sans-serif';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = 6 + (h - 18) * (i / 4);
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 6, y); ctx.stroke();
      const v = max * (1 - i / 4);
      ctx.fillText(v >= 10 ? v.toFixed(0) : v.toFixed(1), 2, y + 4);
    }
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      const offset = RING - s.values.length;
      s.values.forEach((v, i) => {
        const x = pad + (offset + i) * step, y = 6 + (h - 18) * (1 - v / max);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }

  function drawCharts() {
    drawChart($('chart-depth'), [{ color: '#2361c6', values: samples.map((s) => s.depth) }]);
    drawChart($('chart-rate'), [
      { color: '#2361c6', values: samples.map((s) => s.rate.in) },
      { color: '#1f8a4c', values: samples.map((s) => s.rate.out) },
      { color: '#c23a2b', values: samples.map((s) => s.rate.err) }]);
  }

  async function refreshQueues() {
    const r = await api('/api/queues');
    if (r.status !== 200 || !r.data) {
      $('health').textContent = r.status === 0 ? 'unreachable' : 'HTTP ' + r.status;
      $('health').className = 'pill bad';
      return;
    }
    renderQueues(r.data);
    sample(r.data);
    drawCharts();
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  async function refreshHealth() {
    try {
      const res = await fetch('/healthz');
      $('health').textContent = res.ok ? 'healthy' : 'stopping';
      $('health').className = 'pill ' + (res.ok ? 'ok' : 'bad');
    } catch (e) {
      $('health').textContent = 'unreachable';
      $('health').className = 'pill bad';
    }
  }

  // ---- Dead letters and replay ---------------------------------------------------------
  // A failed row is converted again (POST /api/messages/{id}/replay); a rejected row was never
  // converted, so it is requeued through the message browser's POST /api/messages/replay.
  async function replay(id, rowStatus, button) {
    button.disabled = true;
    let r = { status: 404, data: null };
    if (rowStatus === 'rejected') {
      r = await api('/api/messages/replay', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ids: [id] }),
      });
    }
    if (r.status === 404 || r.status === 405) r = await api('/api/messages/' + encodeURIComponent(id) + '/replay', { method: 'POST' });
    const status = $('action-status');
    const result = r.data && r.data.results && r.data.results[0] ? r.data.results[0] : r.data;
    if (r.status === 200 && result) {
      status.textContent = 'Replay of message ' + id + ': ' + (result.status || result.result || 'done') +
        (result.error ? ' (' + result.error + ')' : '');
    } else {
      status.textContent = 'Replay of message ' + id + ' refused (HTTP ' + r.status + ')' +
        (issueText(r.data) ? ': ' + issueText(r.data) : '');
    }
    status.setAttribute('data-replayed', String(id));
    await Promise.all([refreshDeadLetters(), refreshQueues(), refreshAudit()]);
  }

  async function refreshDeadLetters() {
    const r = await api('/api/deadletters?limit=50');
    if (r.status !== 200 || !r.data) return notAvailable($('deadletters'), r.status);
    const rows = (r.data.messages || []).map((m) => {
      const button = el('button', { type: 'button', text: 'Replay', 'data-replay': String(m.id) });
      button.addEventListener('click', () => replay(m.id, m.status, button));
      return el('tr', { class: 'status-' + m.status, 'data-message': String(m.id) }, [
        cell(m.id), cell(m.received_at), cell(m.source), cell(m.type), cell(m.control_id),
        cell(m.status), cell(m.error, 'error-text'), cell(m.attempts, 'num'), el('td', {}, [button])]);
    });
    replace($('deadletters'), rows.length ? table([
      { label: 'Id' }, { label: 'Received' }, { label: 'Source' }, { label: 'Type' }, { label: 'Control id' },
      { label: 'Status' }, { label: 'Error' }, { label: 'Attempts', num: 1 }, { label: '' }], rows)
      : empty('No failed or rejected messages.'));
  }

  // ---- Unmapped codes, identity review, audit ------------------------------------------
  async function refreshUnmapped() {
    const r = await api('/api/unmapped?_count=50');
    if (r.status !== 200 || !r.data) return notAvailable($('unmapped'), r.status);
    const rows = (r.data.codes || []).map((c) => el('tr', {}, [
      cell(c.source), cell(c.system), cell(c.code), cell(c.display), cell(c.count, 'num'), cell(c.last_seen)]));
    replace($('unmapped'), rows.length ? table([
      { label: 'Source' }, { label: 'System' }, { label: 'Code' }, { label: 'Display' },
      { label: 'Count', num: 1 }, { label: 'Last seen' }], rows) : empty('No unmapped codes.'));
  }

  async function refreshReview() {
    const r = await api('/api/identity/review?_count=50');
    if (r.status !== 200 || !r.data) return notAvailable($('review'), r.status);
    const rows = (r.data.items || []).map((it) => el('tr', {}, [
      cell(it.id), cell(it.created_ms ? new Date(it.created_ms).toISOString() : ''),
      cell((it.identifier || {}).system), cell((it.candidates || []).length, 'num'),
      cell((it.candidates || []).map((c) => c.score.toFixed(2)).join(', '))]));
    replace($('review'), rows.length ? table([
      { label: 'Id' }, { label: 'Held since' }, { label: 'Identifier system' }, { label: 'Candidates', num: 1 },
      { label: 'Scores' }], rows) : empty('Nothing waiting for review.'));
  }

  async function refreshAudit() {
    const r = await api('/api/audit?limit=15');
    if (r.status !== 200 || !r.data) return notAvailable($('audit'), r.status);
    const rows = (r.data.events || []).filter((e) => e.action !== 'audit-query').map((e) => el('tr', { 'data-audit-action': e.action }, [
      cell(e.at), cell(e.actor), cell(e.action), cell(e.target_type + (e.target_id ? ' ' + e.target_id : '')), cell(e.outcome)]));
    replace($('audit'), rows.length ? table([
      { label: 'At' }, { label: 'Actor' }, { label: 'Action' }, { label: 'Target' }, { label: 'Outcome' }], rows)
      : empty('No audited actions yet.'));
  }

  // ---- Session -------------------------------------------------------------------------
  function refreshLists() { return Promise.all([refreshDeadLetters(), refreshUnmapped(), refreshReview(), refreshAudit()]); }

  function start() {
    $('login').classList.add('hidden');
    $('main').classList.remove('hidden');
    $('sign-out').classList.remove('hidden');
    refreshHealth();
    refreshQueues();
    refreshLists();
    timers.push(setInterval(() => { refreshHealth(); refreshQueues(); }, SAMPLE_MS));
    timers.push(setInterval(refreshLists, LISTS_MS));
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    timers.forEach(clearInterval);
    timers = [];
    samples.length = 0;
    lastTotals = null;
    $('main').classList.add('hidden');
    $('sign-out').classList.add('hidden');
    $('login').classList.remove('hidden');
    $('login-error').textContent = message || '';
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      const r = await api('/api/queues');
      if (r.status === 200) start();
      else if (r.status !== 401) signOut('The gateway answered HTTP ' + r.status + ' (an operator or admin token is needed).');
    });
    $('sign-out').addEventListener('click', () => signOut(''));
    if (token()) start(); else signOut('');
  });
})();
