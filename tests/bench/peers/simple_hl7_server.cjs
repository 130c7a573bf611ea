// Peer MLLP server: simple-hl7's TCP server answering AA (res.end()), nothing stored.
// Usage: node simple_hl7_server.cjs PORT
const hl7 = require('simple-hl7');
const port = Number(process.argv[2]);
const app = hl7.tcp();
app.use((req, res, next) => res.end());
app.use((err, req, res, next) => res.end());
app.start(port);
console.log(`simple_hl7_server.port=${port}`);
