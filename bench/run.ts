/**
 * `npm run bench`: bundle size, cold init, warm CPU, AWS calls per event, end to end on
 * the local emulators and cost per million events — ours beside the baseline (SDK v3 +
 * Powertools) and the floor (HMAC only), in one run. Writes bench/results.{md,json,svg}.
 * Never part of `npm test`.
 */

import { writeFile } from 'node:fs/promises';
import { cpus, type as osType, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { EnvNames } from '../functions/core/config.js';
import {
  archiveDesigns,
  archiveDrainPerMillion,
  measureArchiveLatency,
  storagePerMillionFiveYears,
} from './archive.js';
import { type BuiltBundle, bundle, displayPath, projectRoot, subjects } from './bundles.js';
import { type CostBreakdown, directIntegrationCost, lambdaCost } from './cost.js';
import { endToEnd, type LoadResult } from './e2e.js';
import { startLoopbackAws } from './loopback-aws.js';
import {
  type ColdSample,
  coldStart,
  summary,
  totalCalls,
  type WarmResult,
  warmRun,
} from './measure.js';
import { ASSUMED_IN_REGION_LATENCY_MS, PRICES } from './prices.js';
import { type BenchResults, renderMarkdown, renderSvg } from './report.js';

const envNumber = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const program = new Command()
  .name('bench')
  .description('Benchmarks the webhook functions against the Powertools baseline and the floor.')
  .option(
    '--cold-runs <n>',
    'fresh processes per subject',
    String(envNumber('BENCH_COLD_RUNS', 15)),
  )
  .option(
    '--warm-events <n>',
    'events per warm phase',
    String(envNumber('BENCH_WARM_EVENTS', 10_000)),
  )
  .option(
    '--warmup <n>',
    'events before measuring warm CPU',
    String(envNumber('BENCH_WARMUP', 1000)),
  )
  .option(
    '--call-samples <n>',
    'events per call-count phase',
    String(envNumber('BENCH_CALL_SAMPLES', 20)),
  )
  .option(
    '--e2e-rate <n>',
    'events/s of the fixed-rate local run',
    String(envNumber('BENCH_E2E_RATE', 200)),
  )
  .option('--e2e-senders <n>', 'concurrent senders', String(envNumber('BENCH_E2E_SENDERS', 32)))
  .option('--e2e-seconds <n>', 'seconds per local run', String(envNumber('BENCH_E2E_SECONDS', 10)))
  .option(
    '--memory <mb>',
    'Lambda memory size the cost is headed by',
    String(envNumber('BENCH_MEMORY', 256)),
  )
  .option(
    '--warm-variants',
    'measure the variants warm too (about 40 s each at the defaults)',
    process.env.BENCH_WARM_VARIANTS === '1',
  )
  .option(
    '--warm-rounds <n>',
    'warm runs per subject, alternating the order; each figure is the median over rounds',
    String(envNumber('BENCH_WARM_ROUNDS', 1)),
  )
  .option(
    '--archive-events <n>',
    'sequential deliveries per round and mode for the archive latency (3 rounds, first not counted)',
    String(envNumber('BENCH_ARCHIVE_EVENTS', 200)),
  )
  .option('--skip <parts>', 'comma-separated: cold,warm,e2e,archive', process.env.BENCH_SKIP ?? '')
  .option('--out <dir>', 'where results.{md,json,svg} go', join(projectRoot, 'bench'));

const log = (text: string) => process.stderr.write(`${text}\n`);
const ratio = (value: number, base: number) =>
  base > 0 ? Math.round((value / base) * 1000) / 1000 : null;

/**
 * One subject's warm rounds as one result: the middle round's figures, with CPU per
 * accepted and per duplicate event replaced by their medians over the rounds (kept in
 * `rounds`).
 */
function medianRound(results: WarmResult[]): WarmResult {
  const sorted = [...results].sort((a, b) => a.accepted.cpuUsPerEvent - b.accepted.cpuUsPerEvent);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!middle) throw new Error('no warm round');
  if (results.length === 1) return middle;
  const accepted = results.map((result) => result.accepted.cpuUsPerEvent);
  const duplicate = results.map((result) => result.duplicate.cpuUsPerEvent);
  return {
    ...middle,
    accepted: { ...middle.accepted, cpuUsPerEvent: summary(accepted).median },
    duplicate: { ...middle.duplicate, cpuUsPerEvent: summary(duplicate).median },
    rounds: { accepted, duplicate },
  };
}

/** Ours with the audit archive on: the same Sigmate bundle, its archive queue set. */
const OURS_WITH_ARCHIVE = 'ours:sigmate+archive';

async function main() {
  program.parse();
  const flags = program.opts<Record<string, string>>();
  const warmVariants = Boolean(program.opts().warmVariants);
  const n = (name: string) => Number(flags[name]);
  const skip = new Set((flags.skip ?? '').split(',').map((part) => part.trim()));
  const memoryMb = n('memory');

  log('bundling with tools/bundling.ts lambdaEsbuildOptions…');
  const bundles: BuiltBundle[] = [];
  for (const subject of subjects()) bundles.push(await bundle(subject));
  const byName = new Map(bundles.map((built) => [built.name, built]));
  const baseline = byName.get('baseline');
  const floor = byName.get('floor');
  const ours = byName.get('ours:sigmate');
  if (!baseline || !floor || !ours)
    throw new Error('the Sigmate handler, baseline and floor are required');
  // Runtime figures use Sigmate: every provider shares the pipeline, only verification differs.
  const runtime = [ours, baseline, floor];
  // Variants show what a design choice costs: at cold start, and warm when asked.
  const coldSubjects = [
    ...runtime,
    ...bundles.filter((built) => built.kind === 'variant' && !runtime.includes(built)),
  ];

  const loopback = await startLoopbackAws();
  const cold: ColdSample[] = [];
  if (!skip.has('cold')) {
    log(`cold init: ${n('coldRuns')} fresh processes each, alternating…`);
    for (let run = 0; run < n('coldRuns'); run += 1) {
      for (const subject of run % 2 === 0 ? coldSubjects : [...coldSubjects].reverse()) {
        cold.push(await coldStart(subject, loopback.endpoint));
      }
    }
  }
  const warm: WarmResult[] = [];
  // Ours again with the audit archive on (its queue URL set, as the stack sets it by default):
  // the same bundle, so the difference is the archive's send alone.
  const withArchive = {
    subject: ours,
    name: OURS_WITH_ARCHIVE,
    env: { [EnvNames.archiveQueueUrl]: `${loopback.endpoint}/123456789012/bench-archive` },
  };
  if (!skip.has('warm')) {
    const plain = (warmVariants ? coldSubjects : runtime).map((subject) => ({
      subject,
      name: subject.name,
      env: {},
    }));
    const warmSubjects = skip.has('archive') ? plain : [...plain, withArchive];
    const rounds = Math.max(1, Math.floor(n('warmRounds')));
    const byRound = new Map<string, WarmResult[]>();
    for (let round = 0; round < rounds; round += 1) {
      for (const { subject, name, env } of round % 2 === 0
        ? warmSubjects
        : [...warmSubjects].reverse()) {
        log(
          `warm CPU and calls (round ${round + 1}/${rounds}): ${name}, ${n('warmEvents')} accepted + ${n('warmEvents')} duplicates…`,
        );
        const result = await warmRun(subject, loopback, {
          events: n('warmEvents'),
          warmup: n('warmup'),
          callSamples: n('callSamples'),
          name,
          env,
        });
        byRound.set(name, [...(byRound.get(name) ?? []), result]);
      }
    }
    for (const { name } of warmSubjects) warm.push(medianRound(byRound.get(name) ?? []));
  }
  await loopback.close();

  let e2e: LoadResult[] = [];
  if (!skip.has('e2e')) {
    log(
      `end to end on DynamoDB Local + fauxqs: ${n('e2eRate')}/s, then all-out, ${n('e2eSenders')} senders…`,
    );
    e2e = await endToEnd({
      rate: n('e2eRate'),
      senders: n('e2eSenders'),
      seconds: n('e2eSeconds'),
    });
  }

  let archiveLatency: Awaited<ReturnType<typeof measureArchiveLatency>> | undefined;
  if (!skip.has('archive')) {
    log('audit archive: sequential deliveries through the local ingress, archive off vs on…');
    archiveLatency = await measureArchiveLatency(n('archiveEvents'), 3);
  }

  const coldBy = (name: string) => {
    const samples = cold.filter((sample) => sample.subject === name);
    return {
      initToAnswerMs: summary(samples.map((s) => s.initToAnswerMs)),
      spawnToAnswerMs: summary(samples.map((s) => s.spawnToAnswerMs)),
      importMs: summary(samples.map((s) => s.importMs)),
      firstInvokeMs: summary(samples.map((s) => s.firstInvokeMs)),
      cpuMs: summary(samples.map((s) => s.cpuMs)),
      rssMb: summary(samples.map((s) => s.rssMb)),
    };
  };
  const warmBy = (name: string) => warm.find((result) => result.subject === name);

  const costs: Record<string, CostBreakdown[]> = {};
  for (const result of warm) {
    if (result.subject === 'floor') continue;
    costs[result.subject] = [128, 256, 512, 1024, 1769].map((memory) =>
      lambdaCost({
        calls: result.calls.accepted,
        cpuUsPerEvent: result.accepted.cpuUsPerEvent,
        logBytesPerEvent: result.accepted.outputBytesPerEvent,
        memoryMb: memory,
      }),
    );
  }
  const floorCost = directIntegrationCost();
  const costAt = (name: string) => costs[name]?.find((cost) => cost.memoryMb === memoryMb);

  const oursCold = coldBy(ours.name).initToAnswerMs.median;
  const baseCold = coldBy(baseline.name).initToAnswerMs.median;
  const oursWarm = warmBy(ours.name);
  const baseWarm = warmBy(baseline.name);
  const open = e2e.find((result) => result.mode === 'open');
  const targets = [
    {
      name: 'cold init (median, import → first answer)',
      target: '≤ 0.75× baseline (aim 0.6×)',
      value: oursCold,
      ratio: ratio(oursCold, baseCold),
      met: cold.length > 0 ? oursCold <= 0.75 * baseCold : null,
    },
    {
      name: 'bundle (gzipped)',
      target: '≤ 0.6× baseline (aim 0.5×)',
      value: ours.gzipBytes,
      ratio: ratio(ours.gzipBytes, baseline.gzipBytes),
      met: ours.gzipBytes <= 0.6 * baseline.gzipBytes,
    },
    {
      name: 'warm CPU per accepted event',
      target: '≤ 0.85× baseline (aim 0.7×)',
      value: oursWarm?.accepted.cpuUsPerEvent ?? null,
      ratio: ratio(oursWarm?.accepted.cpuUsPerEvent ?? 0, baseWarm?.accepted.cpuUsPerEvent ?? 0),
      met:
        oursWarm && baseWarm
          ? oursWarm.accepted.cpuUsPerEvent <= 0.85 * baseWarm.accepted.cpuUsPerEvent
          : null,
    },
    {
      name: 'AWS calls per new event',
      target: '3',
      value: oursWarm ? totalCalls(oursWarm.calls.accepted) : null,
      ratio: ratio(
        oursWarm ? totalCalls(oursWarm.calls.accepted) : 0,
        baseWarm ? totalCalls(baseWarm.calls.accepted) : 0,
      ),
      met: oursWarm ? totalCalls(oursWarm.calls.accepted) <= 3 : null,
    },
    {
      name: 'AWS calls per duplicate',
      target: '1',
      value: oursWarm ? totalCalls(oursWarm.calls.duplicate) : null,
      ratio: ratio(
        oursWarm ? totalCalls(oursWarm.calls.duplicate) : 0,
        baseWarm ? totalCalls(baseWarm.calls.duplicate) : 0,
      ),
      met: oursWarm ? totalCalls(oursWarm.calls.duplicate) <= 1 : null,
    },
    {
      name: `local p99 at ${n('e2eRate')} events/s`,
      target: '< 50 ms',
      value: open?.p99Ms ?? null,
      ratio: open ? ratio(open.p99Ms, 50) : null,
      met: open ? open.p99Ms < 50 : null,
    },
    {
      name: `cost per million events at ${memoryMb} MB`,
      target: '≤ 1.5× the direct-integration floor',
      value: costAt(ours.name)?.totalPerMillion ?? null,
      ratio: ratio(costAt(ours.name)?.totalPerMillion ?? 0, floorCost.totalPerMillion),
      met: costAt(ours.name)
        ? (costAt(ours.name)?.totalPerMillion ?? 0) <= 1.5 * floorCost.totalPerMillion
        : null,
    },
  ];

  const oursName = ours.name;
  /** The archive's additions against today's figures (ours without it), in this run. */
  function archiveSection(): BenchResults['archive'] {
    const off = warmBy(oursName);
    const on = warmBy(OURS_WITH_ARCHIVE);
    const costOff = costAt(oursName);
    const costOn = costAt(OURS_WITH_ARCHIVE);
    if (!off || !on || !costOff || !costOn || !archiveLatency) return undefined;
    const drain = archiveDrainPerMillion();
    const totalOn = Math.round((costOn.totalPerMillion + drain) * 10_000) / 10_000;
    return {
      callsPerNewEvent: {
        off: totalCalls(off.calls.accepted),
        on: totalCalls(on.calls.accepted),
      },
      callsPerDuplicate: {
        off: totalCalls(off.calls.duplicate),
        on: totalCalls(on.calls.duplicate),
      },
      cpuUsPerAcceptedEvent: {
        off: off.accepted.cpuUsPerEvent,
        on: on.accepted.cpuUsPerEvent,
        ratio: ratio(on.accepted.cpuUsPerEvent, off.accepted.cpuUsPerEvent),
      },
      costPerMillion: {
        off: costOff.totalPerMillion,
        on: totalOn,
        functions: Math.round((costOn.totalPerMillion - costOff.totalPerMillion) * 10_000) / 10_000,
        drain,
        added: Math.round((totalOn - costOff.totalPerMillion) * 10_000) / 10_000,
        ratio: ratio(totalOn, costOff.totalPerMillion),
      },
      modelledDurationMs: { off: costOff.durationMs, on: costOn.durationMs },
      local: archiveLatency,
      storagePerMillionFiveYears: storagePerMillionFiveYears(),
      designs: archiveDesigns(),
    };
  }

  const cpu = cpus();
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      node: process.version,
      note: 'shared machine: other work may run beside the bench; compare ratios within one run',
    },
    settings: {
      coldRuns: n('coldRuns'),
      warmEvents: n('warmEvents'),
      warmup: n('warmup'),
      callSamples: n('callSamples'),
      warmRounds: Math.max(1, Math.floor(n('warmRounds'))),
      warmVariants,
      e2e: { rate: n('e2eRate'), senders: n('e2eSenders'), seconds: n('e2eSeconds') },
      memoryMb,
      assumedInRegionLatencyMs: ASSUMED_IN_REGION_LATENCY_MS,
    },
    prices: PRICES,
    bundles: bundles.map((built) => ({
      name: built.name,
      kind: built.kind,
      entry: displayPath(built.entry),
      description: built.description,
      bytes: built.bytes,
      gzipBytes: built.gzipBytes,
      ratioToBaseline: ratio(built.gzipBytes, baseline.gzipBytes),
      top: built.top,
    })),
    cold: Object.fromEntries(
      coldSubjects.map((subject) => {
        const stats = coldBy(subject.name);
        return [
          subject.name,
          { ...stats, ratioToBaseline: ratio(stats.initToAnswerMs.median, baseCold) },
        ];
      }),
    ),
    warm: Object.fromEntries(
      warm.map((result) => [
        result.subject,
        {
          ...result,
          ratioToBaseline: {
            accepted: ratio(result.accepted.cpuUsPerEvent, baseWarm?.accepted.cpuUsPerEvent ?? 0),
            duplicate: ratio(
              result.duplicate.cpuUsPerEvent,
              baseWarm?.duplicate.cpuUsPerEvent ?? 0,
            ),
          },
        },
      ]),
    ),
    e2e,
    cost: {
      memoryMb,
      bySubject: costs,
      floor: floorCost,
      ratioToFloor: Object.fromEntries(
        Object.keys(costs).map((name) => [
          name,
          ratio(costAt(name)?.totalPerMillion ?? 0, floorCost.totalPerMillion),
        ]),
      ),
      ratioToBaseline: ratio(
        costAt(ours.name)?.totalPerMillion ?? 0,
        costAt(baseline.name)?.totalPerMillion ?? 0,
      ),
    },
    targets,
    archive: archiveSection(),
  };
  await writeFile(join(flags.out ?? '', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(flags.out ?? '', 'results.md'), renderMarkdown(results));
  await writeFile(join(flags.out ?? '', 'results.svg'), renderSvg(results));
  log(renderMarkdown(results));
  log(`wrote ${displayPath(join(flags.out ?? '', 'results.md'))}, results.json and results.svg`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
