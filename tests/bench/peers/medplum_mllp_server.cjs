// Peer MLLP server: @medplum/hl7's Hl7Server answering every message with its own ACK
// (Hl7Message.buildAck), nothing stored. Usage: node medplum_mllp_server.cjs PORT
globalThis.WebSocket ??= class {};
const { Hl7Server } = require('@medplum/hl7');
const port = Number(process.argv[2]);
const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => connection.send(message.buildAck()));
});
server.start(port);
console.log(`medplum_mllp_server.port=${port}`);
