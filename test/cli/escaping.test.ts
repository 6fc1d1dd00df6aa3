import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveLine as archiveRecordLine } from '../../functions/core/archive.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import type { LocalArchive } from '../../local/archiver.js';
import { cli, type LocalCli, startLocalCli, stopLocalCli } from './cli-support.js';

/** What must never reach a terminal raw: C0 and C1 controls, DEL, the Unicode line breaks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A title-setting OSC, a screen clear and an 8-bit CSI, in one identifier. */
const HOSTILE = 'k\u001b]0;owned\u0007\u001b[2J\u009b31m\u2028x';

/** Every line printed is free of raw controls; `--json` output may span lines (its own). */
function expectNoRawControls(run: { stdout: string[]; stderr: string[] }, json = false): void {
  const stdout = json ? run.stdout.flatMap((text) => text.split('\n')) : run.stdout;
  for (const line of [...stdout, ...run.stderr]) {
    expect(RAW_CONTROL.test(line), JSON.stringify(line)).toBe(false);
  }
}

describe('cli: archive- and provider-sourced text in every message', () => {
  let local: LocalCli;
  let archive: LocalArchive;
  const day = '2026-05-07';

  beforeAll(async () => {
    local = await startLocalCli();
    if (!local.ingress.archive) throw new Error('the test ingress has no archive');
    archive = local.ingress.archive;
    const partition = `${archive.location.prefix}/provider=sigmate/date=${day}`;
    const put = (name: string, body: Uint8Array) =>
      archive.s3.send(
        new PutObjectCommand({
          Bucket: archive.location.bucket,
          Key: `${partition}/${name}`,
          Body: body,
        }),
      );
    // An object whose key carries escape sequences, and that is not gzip.
    await put(`${HOSTILE}.jsonl.gz`, Buffer.from('not gzip'));
    // One whose key does too, holding a line that is not a record.
    await put(`${HOSTILE}-2.jsonl.gz`, gzipSync('{"hello":1}\n'));
    // A record whose key, type and subject carry them, and whose envelope is not one.
    // Settled as the acknowledged attempt, so replay tries to send it.
    const record = archiveRecordLine({
      archiveVersion: 2,
      provider: 'sigmate',
      type: `t${HOSTILE}`,
      product: undefined,
      subject: `s${HOSTILE}`,
      idempotencyKey: HOSTILE,
      envelopeId: `env-${HOSTILE}`,
      receivedAt: `${day}T10:00:00.000Z`,
      sourceIp: `203.0.113.7${HOSTILE}`,
      requestId: `req-${HOSTILE}`,
      acknowledged: true,
      settlement: 'completed',
      settledAt: `${day}T10:00:15.000Z`,
      // Not an envelope v1: its version, quoted in the refusal, is hostile too.
      envelope: `{"version":${JSON.stringify(HOSTILE)},"payload":{}}`,
    });
    await put('records.jsonl.gz', gzipSync(`${record}\n`));
  });
  afterAll(() => stopLocalCli(local ?? {}));

  const range = ['--since', day, '--until', `${day}T23:59:59Z`];

  it('replay: skipped objects, unreplayable records and the summary are escaped', async () => {
    const run = await cli(['replay', 'sigmate', '--endpoints', local.endpoints.file, ...range]);
    expect(run.code).toBe(1);
    expect(run.stderr.join('\n')).toMatch(/skipped s3:\/\/\S+\/k\\u001b\]0;owned\\u0007.*not gzip/);
    expect(run.stderr.join('\n')).toMatch(/cannot replay key k\\u001b\]0;owned\\u0007/);
    expectNoRawControls(run);
  });

  it('replay --key and --dry-run: the selection and the listing are escaped', async () => {
    const dry = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      local.endpoints.file,
      ...range,
      '--key',
      HOSTILE,
      '--dry-run',
    ]);
    expectNoRawControls(dry);
    const none = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      local.endpoints.file,
      ...range,
      '--subject',
      `nothing-${HOSTILE}`,
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr.join('\n')).toMatch(/nothing matched/);
    expectNoRawControls(none);
  });

  it('find: the archive search, what it found and what it skipped are escaped, --json too', async () => {
    for (const format of [[], ['--json']]) {
      const run = await cli([
        'find',
        'sigmate',
        `s${HOSTILE}`,
        '--endpoints',
        local.endpoints.file,
        ...range,
        ...format,
      ]);
      expect(run.code, run.stderr.join('\n')).toBe(0);
      expectNoRawControls(run, format.length > 0);
      if (format.length > 0) {
        // The same values, escaped: a reader of the JSON gets the subject as archived.
        expect(JSON.parse(run.stdout.join('\n')).found[0].subject).toBe(`s${HOSTILE}`);
      }
    }
    const missing = await cli([
      'find',
      'sigmate',
      `missing-${HOSTILE}`,
      '--endpoints',
      local.endpoints.file,
      ...range,
    ]);
    expect(missing.code).toBe(1);
    expectNoRawControls(missing);
  });

  it('tail: a body that is not an envelope, and C1 controls inside an envelope, are escaped', async () => {
    // SQS refuses C0 controls but CR, LF and tab; it carries C1 controls and U+2028.
    const queueUrl = local.ingress.endpoints.queues.sigmate;
    for (const body of [
      'not an envelope\r\n2026-05-07T10:00:00.000Z sigmate signal.fired key=FORGED\u009b2J\u2028',
      buildEnvelope(
        {
          id: 'env-c1',
          provider: 'sigmate',
          type: 'signal.fired\u009b31m',
          idempotencyKey: 'c1-key\u0085',
          receivedAt: `${day}T10:00:00.000Z`,
        },
        JSON.stringify({ id: 'c1-key', note: 'csi \u009b2J here\u2029' }),
      ),
    ]) {
      await local.ingress.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
      );
    }
    try {
      for (const format of [['--oneline'], []]) {
        const run = await cli([
          'tail',
          '-p',
          'sigmate',
          '--endpoints',
          local.endpoints.file,
          ...format,
        ]);
        expect(run.code, run.stderr.join('\n')).toBe(0);
        // The pretty view spans lines by design: each of its lines is checked.
        expectNoRawControls(run, format.length === 0);
        expect(run.stdout.join('\n')).toContain('\\u000d\\u000a2026-05-07T10:00:00.000Z');
        expect(run.stdout.join('\n')).toContain('\\u009b');
      }
    } finally {
      // Not JSON: the harness's drain would choke on it.
      const args = ['tail', '-p', 'sigmate', '--consume', '--yes', '--json'];
      await cli([...args, '--endpoints', local.endpoints.file]);
    }
  });
});
