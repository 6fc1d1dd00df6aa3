/**
 * The operator CLI's writes under a lost answer, for the reliability suite and
 * `npm run reliability`: `replay` on the real local ingress and archive, with SQS
 * behind the fault proxy.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../cli/errors.js';
import { MemoryIo } from '../../cli/io.js';
import { replay } from '../../cli/replay.js';
import { send } from '../../cli/send.js';
import { localTarget } from '../../cli/target.js';
import { attachEmulator } from '../../local/emulators.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { localClients, startLocalIngress } from '../../local/ingress.js';
import {
  CapturingLog,
  drainQueue,
  type Emulators,
  FaultProxy,
  type ScenarioResult,
} from './faults.js';

/** The keys a replay named as unknown (`unknown: … key=K id=…` on stderr), as an operator reads them. */
export function unknownKeys(stderr: readonly string[]): string[] {
  return stderr.flatMap((line) => /^unknown: .* key=(\S+) id=/.exec(line)?.[1] ?? []);
}

/**
 * `replay` of `events` archived events when SQS's answer to the first SendMessageBatch
 * is lost after SQS stored the batch. The CLI must not send it again: it names the
 * batch's events and exits 6; the operator then replays each named key once more, as
 * docs/cli.md says. Nothing may be lost, and each named (ambiguous) event may add at
 * most one message: the bound.
 */
export async function replayAnswerLost(
  emulators: Emulators,
  events = 25,
): Promise<ScenarioResult & { firstExitCode: number; named: string[] }> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'replay-fault-'));
  const clients = localClients(emulators);
  const proxy = await FaultProxy.start(emulators.sqs);
  const ingress = await startLocalIngress({
    port: 0,
    dynamodb: attachEmulator('DynamoDB Local', emulators.dynamodb),
    sqs: attachEmulator('fauxqs', emulators.sqs),
    namePrefix: `rp${randomUUID().slice(0, 8)}`,
    log: new CapturingLog(),
    archive: 'manual',
    endpointsFile: join(dir, 'endpoints.json'),
  });
  const direct = await localTarget(join(dir, 'endpoints.json'), {});
  // The operator's CLI reaches SQS (and the archive, on the same port) through the proxy.
  const faultyFile = join(dir, 'through-proxy.json');
  await writeFile(faultyFile, JSON.stringify({ ...ingress.endpoints, sqs: proxy.endpoint }));
  const faulty = await localTarget(faultyFile, {});
  const queueUrl = queueUrlOf(ingress.endpoints, 'sigmate');
  const keyOf = (body: Record<string, unknown>) => String(body.idempotencyKey);
  try {
    const accepted = await send(
      direct,
      { provider: 'sigmate', count: events, duplicates: 0, concurrency: 4 },
      new MemoryIo(),
    );
    // The consumer took them, then lost them: what a replay is for.
    const original = await drainQueue(clients.sqs, queueUrl, keyOf);
    await ingress.archive?.archiver.drain();

    proxy.inject({ operation: 'SendMessageBatch', action: 'lose-response', times: 1 });
    const io = new MemoryIo();
    const first = await replay(faulty, { provider: 'sigmate', since: '1h' }, io);
    const named = unknownKeys(io.stderr);
    let confirmed = first.replayed;
    for (const key of named) {
      const again = await replay(faulty, { provider: 'sigmate', since: '1h', key }, new MemoryIo());
      confirmed += again.replayed;
    }
    const queue = await drainQueue(clients.sqs, queueUrl, keyOf);
    const wanted = [...original.byKey.keys()];
    return {
      scenario: `replay of ${events} archived events, one SendMessageBatch answer lost (then the named keys replayed again)`,
      deliveries: events + named.length,
      acknowledged: wanted.filter((key) => queue.byKey.has(key)).length,
      unique: accepted.unique,
      onQueue: queue.total,
      lost: wanted.filter((key) => !queue.byKey.has(key)).length,
      duplicates: queue.total - queue.byKey.size,
      crashes: first.unknown ?? 0,
      ambiguous: first.unknown ?? 0,
      stuckClaims: 0,
      unacknowledged: events - confirmed,
      // The CLI must say what it does not know: exit 6, every unknown event named.
      badRedeliveries:
        first.exitCode === ExitCode.Ambiguous && named.length === (first.unknown ?? 0) ? 0 : 1,
      statuses: { [`replay exit ${first.exitCode}`]: 1 },
      ms: Date.now() - started,
      firstExitCode: first.exitCode,
      named,
    };
  } finally {
    direct.close();
    faulty.close();
    clients.sqs.destroy();
    clients.dynamodb.destroy();
    await ingress.stop();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  }
}
