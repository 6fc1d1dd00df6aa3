// Runs the fauxqs SQS emulator bound to 127.0.0.1 (its own listen() hard-codes
// 0.0.0.0, so the one listen call is redirected to loopback), on the port and
// data folder given as arguments, and prints FAUXQS_READY once it serves.
import net from 'node:net';

const [portText = '0', dataDir = ''] = process.argv.slice(2);
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackOnly(...args) {
  const [first] = args;
  if (
    first &&
    typeof first === 'object' &&
    (first.host === '0.0.0.0' || first.host === undefined)
  ) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

// Queue URLs on sqs.<region>.localhost do not resolve here; make them plain
// http://127.0.0.1:<port>/<account>/<name>, usable with or without an explicit
// endpoint. fauxqs looks queues up by name when the URL carries no region.
try {
  const store = await import(new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs')).href);
  store.SqsStore.prototype.buildQueueUrl = (queueName, port) =>
    `http://127.0.0.1:${port}/000000000000/${queueName}`;
} catch {
  // A fauxqs without that module keeps its own URL shape; clients set an explicit endpoint anyway.
}

// fauxqs 2.4.1 persists ChangeMessageVisibility(0) with a NULL receive count, which its
// NOT NULL column refuses: the message then vanishes until a restart. Keep the count.
try {
  const { PersistenceManager } = await import(
    new URL('./persistence.js', import.meta.resolve('fauxqs')).href
  );
  PersistenceManager.prototype.updateMessageReady = function updateMessageReady(messageId) {
    this.readyStatement ??= this.db.prepare(
      'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
    );
    this.readyStatement.run(messageId);
  };
} catch {
  // Another fauxqs layout: its own code stands.
}

// fauxqs 2.4.1 checks message bodies with a regex that lacks the `u` flag, so it sees a
// character outside the Basic Multilingual Plane (an emoji) as two surrogates and refuses
// it; real SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
// Every caller uses the one exported RegExp's `test`: give that object the right check.
try {
  const types = await import(new URL('./sqs/sqsTypes.js', import.meta.resolve('fauxqs')).href);
  const sqsInvalid = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
  Object.defineProperty(types.INVALID_MESSAGE_BODY_CHAR, 'test', {
    value: (text) => sqsInvalid.test(text),
  });
} catch {
  // Another fauxqs layout: its own check stands.
}

const { startFauxqs } = await import('fauxqs');
const server = await startFauxqs({
  port: Number(portText),
  logger: false,
  ...(dataDir ? { dataDir } : {}),
});

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open; when it ends for any reason (even SIGKILL), stop too.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.stdout.write(`FAUXQS_READY ${server.port}\n`);
