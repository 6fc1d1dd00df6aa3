import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, SERVICE_NAME } from '../../../functions/core/observability.js';

/** What the logger writes to stdout and stderr while `run` runs, one entry per write. */
function written(run: () => void): string[] {
  const lines: string[] = [];
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = write;
    });
  }
  try {
    run();
  } finally {
    for (const undo of restore) undo();
  }
  return lines;
}

/** An accepted Sigmate delivery's line as the pipeline writes it (`report`). */
const accepted = {
  requestId: 'Ltoa5gOUoAMES5w=',
  sourceIp: '203.0.113.10',
  type: 'signal.fired',
  key: '03719316-1cc3-42c6-b001-9e66ab6a5aba',
  id: 'cffa4ee3-f42e-439c-a692-2351688c31cc',
  messageId: 'c3a81960-0927-46f6-acbf-ebdc7a61f3a5',
  outcome: 'accepted',
  statusCode: 200,
  latencyMs: 11,
};

describe('core: the request log line', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    // As in Lambda: a trace header per invocation, Powertools' dev mode off.
    process.env._X_AMZN_TRACE_ID =
      'Root=1-6756f1a4-2b5e7c3d4f5a6b7c8d9e0f1a;Parent=53995c3f42cd8ad8;Sampled=0';
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_LOG_LEVEL;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is one JSON line: level, message, service, provider, then the fields, nothing else', () => {
    const lines = written(() => createLogger('sigmate').info('webhook', accepted));
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'level',
      'message',
      'service',
      'provider',
      ...Object.keys(accepted),
    ]);
    expect(parsed).toMatchObject({
      level: 'INFO',
      message: 'webhook',
      service: SERVICE_NAME,
      provider: 'sigmate',
      ...accepted,
    });
  });

  it('writes no timestamp, sampling rate or trace id: no query reads them', () => {
    const [line = ''] = written(() => createLogger('sigmate').info('webhook', accepted));
    expect(line).not.toMatch(/timestamp|sampling_rate|xray_trace_id|_aws/);
  });

  it('keeps an accepted Sigmate line within 400 bytes', () => {
    const [line = ''] = written(() => createLogger('sigmate').info('webhook', accepted));
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(400);
  });

  it('keeps the level of warnings and errors, and nested error fields', () => {
    const lines = written(() => {
      const log = createLogger('sigma');
      log.warn('claim release failed', { key: 'k', error: { name: 'TimeoutError' } });
      log.error('webhook', { outcome: 'retry', error: { name: 'DependencyError', message: 'm' } });
    });
    const [warn, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warn).toMatchObject({
      level: 'WARN',
      provider: 'sigma',
      error: { name: 'TimeoutError' },
    });
    expect(error).toMatchObject({
      level: 'ERROR',
      outcome: 'retry',
      error: { name: 'DependencyError', message: 'm' },
    });
  });
});
