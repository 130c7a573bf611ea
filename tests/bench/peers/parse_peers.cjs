// Peer parsers over exactly the messages phrgate-bench parses (from `phrgate-loadgen dump`):
// @medplum/core Hl7Message.parse and hl7-standard. Prints messages/s and MB/s per parser,
// after warm-up, single thread. Usage: node parse_peers.cjs FILE [SECONDS]
globalThis.WebSocket ??= class {};
const fs = require('node:fs');
const { Hl7Message } = require('@medplum/core');
const HL7 = require('hl7-standard');

const text = fs.readFileSync(process.argv[2], 'utf8');
const seconds = Number(process.argv[3] ?? 2);
const messages = text.split('\n').filter((m) => m.startsWith('MSH'));
const avgBytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0) / messages.length;

function measure(name, parseOne) {
  for (let i = 0; i < 2000; i++) parseOne(messages[i % messages.length]);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (let i = 0; i < 500; i++) parseOne(messages[(n + i) % messages.length]);
    n += 500;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  console.log(`peer.${name}.parse.msgs_per_s=${Math.round(n / elapsed)}`);
  console.log(`peer.${name}.parse.mb_per_s=${((n * avgBytes) / elapsed / 1e6).toFixed(1)}`);
}

let sink = 0;
measure('medplum_core', (m) => {
  const msg = Hl7Message.parse(m);
  for (const seg of msg.segments) sink += seg.getField(3)?.toString().length ?? 0;
});
measure('hl7_standard', (m) => {
  const h = new HL7(m);
  h.transform();
  sink += h.getSegments('OBX').length;
});
if (sink === 42) console.log('#');
