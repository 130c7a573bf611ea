// Peer C-CDA parsers over exactly the documents phrgate-bench converts (written by
// `phrgate-loadgen dump-ccd`): @amida-tech/blue-button (parseString: XML -> its JSON model)
// and bluebutton.js (BlueButton(xml)). Prints documents/s per parser per file, after warm-up,
// single thread. Usage: node ccda_peers.cjs SECONDS LABEL=FILE...
const fs = require('node:fs');
const amida = require('@amida-tech/blue-button');
const BlueButton = require('bluebutton');

const seconds = Number(process.argv[2] ?? 2);
let sink = 0;

function measure(name, label, xml, parseOne) {
  for (let i = 0; i < 3; i++) parseOne(xml);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    parseOne(xml);
    n += 1;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  console.log(`peer.${name}.ccda_${label}.docs_per_s=${(n / elapsed).toFixed(1)}`);
}

for (const arg of process.argv.slice(3)) {
  const [label, file] = arg.split('=');
  const xml = fs.readFileSync(file, 'utf8');
  measure('amida_blue_button', label, xml, (x) => {
    const r = amida.parseString(x);
    sink += (r.data.results ?? []).length;
  });
  measure('bluebutton_js', label, xml, (x) => {
    const r = BlueButton(x);
    sink += (r.data.results ?? []).length;
  });
}
if (sink === 42) console.log('#');
