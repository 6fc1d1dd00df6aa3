/** The bench's results: their shape, the Markdown table and an SVG chart. */
import type { ArchiveDesign } from './archive.js';
import type { CostBreakdown } from './cost.js';
import type { LoadResult } from './e2e.js';
import type { summary, WarmResult } from './measure.js';
import type { PRICES } from './prices.js';

type Summary = ReturnType<typeof summary>;

export interface ArchiveResults {
  callsPerNewEvent: { off: number; on: number };
  callsPerDuplicate: { off: number; on: number };
  cpuUsPerAcceptedEvent: { off: number; on: number; ratio: number | null };
  costPerMillion: {
    off: number;
    on: number;
    /** The functions' share: the extra SendMessage and its CPU and wait. */
    functions: number;
    /** Draining the archive queue to S3 (modelled: receives, deletes, PutObject, archiver). */
    drain: number;
    added: number;
    ratio: number | null;
  };
  modelledDurationMs: { off: number; on: number };
  local: {
    events: number;
    off: { p50Ms: number; p99Ms: number };
    on: { p50Ms: number; p99Ms: number };
    addedP50Ms: number;
  };
  storagePerMillionFiveYears: { largeObjects: number; smallObjects: number };
  designs: ArchiveDesign[];
}

export interface BenchResults {
  generatedAt: string;
  machine: Record<string, string | number>;
  settings: {
    coldRuns: number;
    warmEvents: number;
    warmup: number;
    callSamples: number;
    warmRounds?: number;
    warmVariants?: boolean;
    e2e: { rate: number; senders: number; seconds: number };
    memoryMb: number;
    assumedInRegionLatencyMs: Record<string, number>;
  };
  prices: typeof PRICES;
  bundles: {
    name: string;
    kind: string;
    entry: string;
    description: string;
    bytes: number;
    gzipBytes: number;
    ratioToBaseline: number | null;
    top: { name: string; bytes: number }[];
  }[];
  cold: Record<
    string,
    Record<
      'initToAnswerMs' | 'spawnToAnswerMs' | 'importMs' | 'firstInvokeMs' | 'cpuMs' | 'rssMb',
      Summary
    > & { ratioToBaseline: number | null }
  >;
  warm: Record<
    string,
    WarmResult & { ratioToBaseline: { accepted: number | null; duplicate: number | null } }
  >;
  e2e: LoadResult[];
  /** The audit archive's additions, against ours without it in the same run (issue 15). */
  archive?: ArchiveResults | undefined;
  cost: {
    memoryMb: number;
    bySubject: Record<string, CostBreakdown[]>;
    floor: CostBreakdown;
    ratioToFloor: Record<string, number | null>;
    ratioToBaseline: number | null;
  };
  targets: {
    name: string;
    target: string;
    value: number | null;
    ratio: number | null;
    met: boolean | null;
  }[];
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const us = (value: number) => `${Math.round(value)} µs`;
const x = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${value.toFixed(2)}×`;
const usd = (value: number) => `$${value.toFixed(3)}`;
const calls = (counts: Record<string, number> | undefined) =>
  counts && Object.keys(counts).length > 0
    ? `${Object.values(counts).reduce((a, b) => a + b, 0)} (${Object.entries(counts)
        .map(
          ([name, count]) =>
            `${name.replace('DynamoDB.', 'ddb:').replace('SQS.', 'sqs:')} ${count}`,
        )
        .join(', ')})`
    : '0';

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** The human summary: one table per measurement, every figure beside its ratio to the baseline. */
export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const out: string[] = [
    '# Benchmark results',
    '',
    `Generated ${results.generatedAt} by \`npm run bench\` on ${m.cpu} (${m.cores} cores, ${m.memoryGb} GB), ${m.os}, Node ${m.node}. ${m.note}.`,
    '',
    'Subjects: **ours** (`functions/<provider>/handler.ts`), the **baseline** users write today (`bench/baselines/powertools-handler.ts`: SDK v3 clients, Powertools Idempotency + DynamoDB persistence, Powertools Logger, hand HMAC) and the **floor** (`bench/baselines/floor-handler.ts`: HMAC only). All bundled with `tools/bundling.ts` `lambdaEsbuildOptions`. Runtime figures use Sigmate (the pipeline is shared by every provider).',
    '',
    '## Targets',
    '',
    table(
      ['measure', 'target', 'ours', 'ratio', 'met'],
      results.targets.map((t) => [
        t.name,
        t.target,
        t.value === null ? '—' : Number(t.value.toFixed(2)),
        x(t.ratio),
        t.met === null ? 'not run' : t.met ? 'yes' : '**no**',
      ]),
    ),
    '',
    '## 1. Bundle size (minified ESM, gzip -9)',
    '',
    table(
      ['function', 'minified', 'gzipped', 'vs baseline', 'top contributors (minified bytes)'],
      results.bundles.map((b) => [
        `${b.name}`,
        kb(b.bytes),
        kb(b.gzipBytes),
        x(b.ratioToBaseline),
        b.top
          .slice(0, 5)
          .map((c) => `${c.name} ${kb(c.bytes)}`)
          .join(', '),
      ]),
    ),
    '',
  ];
  const coldNames = Object.keys(results.cold);
  if (coldNames.length > 0 && (results.cold[coldNames[0] ?? '']?.initToAnswerMs.n ?? 0) > 0) {
    out.push(
      `## 2. Cold init (${results.settings.coldRuns} fresh processes each, alternating; loopback AWS endpoint)`,
      '',
      '"init → answer" is what Lambda adds to a cold request: import of the bundle plus the first invocation (SDK client set-up, SigV4, the three calls). "process → answer" adds Node\'s own boot, measured from the parent.',
      '',
      table(
        [
          'function',
          'init → answer median',
          'p90',
          'vs baseline',
          'import median',
          'first invoke median',
          'process → answer median',
          'CPU median',
          'RSS',
        ],
        coldNames.map((name) => {
          const c = results.cold[name];
          if (!c) return [name];
          return [
            name,
            ms(c.initToAnswerMs.median),
            ms(c.initToAnswerMs.p90),
            x(c.ratioToBaseline),
            ms(c.importMs.median),
            ms(c.firstInvokeMs.median),
            ms(c.spawnToAnswerMs.median),
            ms(c.cpuMs.median),
            `${c.rssMb.median.toFixed(0)} MB`,
          ];
        }),
      ),
      '',
    );
  }
  const warmNames = Object.keys(results.warm);
  if (warmNames.length > 0) {
    out.push(
      `## 3. Warm CPU per event (${results.settings.warmEvents} accepted, then the same ${results.settings.warmEvents} again as duplicates, after ${results.settings.warmup} warm-up events; one process, sequential as in Lambda)`,
      '',
      table(
        [
          'function',
          'CPU / accepted',
          'vs baseline',
          'CPU / duplicate',
          'vs baseline',
          'wall p50 / p99 (accepted)',
          'log bytes / event',
        ],
        warmNames.map((name) => {
          const w = results.warm[name];
          if (!w) return [name];
          return [
            name,
            us(w.accepted.cpuUsPerEvent),
            x(w.ratioToBaseline.accepted),
            us(w.duplicate.cpuUsPerEvent),
            x(w.ratioToBaseline.duplicate),
            `${ms(w.accepted.p50Ms)} / ${ms(w.accepted.p99Ms)}`,
            Math.round(w.accepted.outputBytesPerEvent),
          ];
        }),
      ),
      '',
      `## 4. AWS calls per event (counted at the loopback server, ${results.settings.callSamples} events per kind)`,
      '',
      table(
        ['function', 'new event', 'duplicate', 'in flight (second delivery during the first)'],
        warmNames.map((name) => {
          const w = results.warm[name];
          return [
            name,
            calls(w?.calls.accepted),
            calls(w?.calls.duplicate),
            `${calls(w?.calls.inflight)} → HTTP ${Object.keys(w?.callStatuses.inflight ?? {}).join('/')}`,
          ];
        }),
      ),
      '',
    );
  }
  if (results.e2e.length > 0) {
    const { rate, senders } = results.settings.e2e;
    out.push(
      `## 5. End to end locally (local/ingress.ts on DynamoDB Local + fauxqs, ${senders} senders in a separate process)`,
      '',
      table(
        [
          'run',
          'events',
          'throughput',
          'p50',
          'p99',
          'max',
          'statuses',
          'CPU per process (share of one core)',
          'busiest',
        ],
        results.e2e.map((r) => [
          r.mode === 'open' ? `fixed ${rate}/s` : 'all-out',
          r.sent,
          `${r.throughput}/s`,
          ms(r.p50Ms),
          ms(r.p99Ms),
          ms(r.maxMs),
          Object.entries(r.statuses)
            .map(([code, count]) => `${code}: ${count}`)
            .join(', '),
          Object.entries(r.cpu)
            .map(([name, share]) => `${name} ${Math.round(share * 100)}%`)
            .join('; '),
          r.saturated,
        ]),
      ),
      '',
    );
  }
  const costNames = Object.keys(results.cost.bySubject);
  if (costNames.length > 0) {
    const p = results.prices;
    out.push(
      `## 6. Cost per million accepted events (${p.region} list prices as of ${p.asOf}, arm64; see bench/prices.ts)`,
      '',
      `Duration = CPU measured here × (1,769 MB ÷ memory) + round trips at an assumed ${results.settings.assumedInRegionLatencyMs.dynamodb} ms (DynamoDB) / ${results.settings.assumedInRegionLatencyMs.sqs} ms (SQS). Floor: API Gateway HTTP API → SQS direct integration (${usd(results.cost.floor.totalPerMillion)}), which cannot verify a signature.`,
      '',
      table(
        ['function', 'memory', 'est. duration', 'total / million', 'vs floor', 'breakdown'],
        costNames.flatMap((name) =>
          (results.cost.bySubject[name] ?? []).map((c) => [
            name,
            `${c.memoryMb} MB`,
            ms(c.durationMs),
            usd(c.totalPerMillion),
            x(c.totalPerMillion / results.cost.floor.totalPerMillion),
            Object.entries(c.perMillion)
              .filter(([, value]) => value > 0)
              .map(([item, value]) => `${item} ${usd(value)}`)
              .join(', '),
          ]),
        ),
      ),
      '',
    );
  }
  out.push(...variantTable(results), ...archiveTable(results), '![chart](results.svg)', '');
  return out.join('\n');
}

/** The audit archive's additions against ours without it, from this run (issue 15). */
function archiveTable(results: BenchResults): string[] {
  const a = results.archive;
  if (!a) return [];
  const diff = (on: number, off: number, show: (v: number) => string) =>
    `${show(off)} → ${show(on)} (${on - off >= 0 ? '+' : '−'}${show(Math.abs(on - off))})`;
  return [
    '## 8. The audit archive (on by default): what it adds to each event',
    '',
    'Ours (Sigmate) with the archive off — today’s figures — and on (the archive queue set, as the stack sets it), in this run: warm CPU and calls on the loopback endpoint, cost at the memory above, local latency through `local/ingress.ts` on DynamoDB Local + fauxqs (sequential deliveries, modes alternated in rounds, the first round not counted). The archive record is sent before the envelope, so in AWS it adds one SQS round trip to each new event (modelled at the assumed SQS latency).',
    '',
    table(
      ['measure', 'archive off → on'],
      [
        ['AWS calls per new event', `${a.callsPerNewEvent.off} → ${a.callsPerNewEvent.on}`],
        ['AWS calls per duplicate', `${a.callsPerDuplicate.off} → ${a.callsPerDuplicate.on}`],
        [
          'warm CPU per accepted event',
          `${diff(a.cpuUsPerAcceptedEvent.on, a.cpuUsPerAcceptedEvent.off, us)}, ${x(a.cpuUsPerAcceptedEvent.ratio)}`,
        ],
        [
          'est. duration in AWS (modelled)',
          diff(a.modelledDurationMs.on, a.modelledDurationMs.off, ms),
        ],
        [
          `local latency p50 (${a.local.events} deliveries each)`,
          diff(a.local.on.p50Ms, a.local.off.p50Ms, ms),
        ],
        ['local latency p99', diff(a.local.on.p99Ms, a.local.off.p99Ms, ms)],
        [
          'cost per million events',
          `${usd(a.costPerMillion.off)} → ${usd(a.costPerMillion.on)} (+${usd(a.costPerMillion.added)}: functions +${usd(a.costPerMillion.functions)}, draining to S3 +${usd(a.costPerMillion.drain)}), ${x(a.costPerMillion.ratio)}`,
        ],
        [
          'storage, one million events kept five years (lifecycle)',
          `${usd(a.storagePerMillionFiveYears.largeObjects)} with the lifecycle (objects ≥ 128 KB), ${usd(a.storagePerMillionFiveYears.smallObjects)} in S3 Standard throughout (smaller objects: quiet providers)`,
        ],
      ],
    ),
    '',
    'The designs weighed (docs/decisions.md §15; cost added per million events, list prices):',
    '',
    table(
      ['design', 'added / million', 'calls on the request path', 'runs locally', 'note'],
      a.designs.map((d) => [
        d.name,
        usd(d.addedCostPerMillion),
        `+${d.requestPathCallsPerEvent} (${d.sequentialCallsPerEvent} sequential)`,
        d.runsLocally ? 'yes' : '**no**',
        d.note,
      ]),
    ),
    '',
  ];
}

const signed = (value: number, digits: number, unit: string) =>
  `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}${unit}`;

/** Each variant beside ours (Sigmate) and the baseline: what leaving a choice out costs. */
function variantTable(results: BenchResults): string[] {
  const variants = results.bundles.filter((b) => b.kind === 'variant');
  const ours = results.bundles.find((b) => b.name === 'ours:sigmate');
  const baseline = results.bundles.find((b) => b.kind === 'baseline');
  if (variants.length === 0 || !ours || !baseline) return [];
  const coldOf = (name: string) => results.cold[name]?.initToAnswerMs;
  const warmOf = (name: string) => results.warm[name]?.accepted.cpuUsPerEvent;
  const cell = (
    value: number | undefined,
    base: number | undefined,
    reference: number | undefined,
    show: (v: number) => string,
    delta: (d: number) => string,
  ) =>
    value === undefined || !base
      ? '—'
      : `${show(value)} (${x(value / base)}${reference === undefined ? '' : `, ${delta(value - reference)}`})`;
  const row = (name: string) => {
    const built = results.bundles.find((b) => b.name === name);
    const cold = coldOf(name)?.n ? coldOf(name)?.median : undefined;
    return [
      name,
      cell(
        built?.gzipBytes,
        baseline.gzipBytes,
        name === ours.name ? undefined : ours.gzipBytes,
        kb,
        (d) => signed(d / 1024, 1, ' KiB'),
      ),
      cell(
        cold,
        coldOf(baseline.name)?.median,
        name === ours.name || !coldOf(ours.name)?.n ? undefined : coldOf(ours.name)?.median,
        ms,
        (d) => signed(d, 1, ' ms'),
      ),
      cell(
        warmOf(name),
        warmOf(baseline.name),
        name === ours.name ? undefined : warmOf(ours.name),
        us,
        (d) => signed(d, 0, ' µs'),
      ),
      built?.description ?? '',
    ];
  };
  return [
    '## 7. Variants beside ours (ratio to the baseline, then the difference from ours)',
    '',
    table(
      ['subject', 'bundle, gzipped', 'cold init median', 'warm CPU / accepted', 'what differs'],
      [ours.name, ...variants.map((v) => v.name), baseline.name].map(row),
    ),
    '',
  ];
}

/** Three bar groups (gzipped bundle, cold init, warm CPU), each as a ratio of the baseline. */
export function renderSvg(results: BenchResults): string {
  const groups: { title: string; bars: { name: string; value: number; label: string }[] }[] = [];
  const baselineBundle = results.bundles.find((b) => b.kind === 'baseline')?.gzipBytes ?? 1;
  groups.push({
    title: 'bundle, gzipped',
    bars: results.bundles
      .filter((b) => b.kind !== 'variant')
      .map((b) => ({ name: b.name, value: b.gzipBytes / baselineBundle, label: kb(b.gzipBytes) })),
  });
  const baseCold = results.cold.baseline?.initToAnswerMs.median ?? 0;
  if (baseCold > 0) {
    groups.push({
      title: 'cold init → first answer (median)',
      bars: Object.entries(results.cold).map(([name, c]) => ({
        name,
        value: c.initToAnswerMs.median / baseCold,
        label: ms(c.initToAnswerMs.median),
      })),
    });
  }
  const baseWarm = results.warm.baseline?.accepted.cpuUsPerEvent ?? 0;
  if (baseWarm > 0) {
    groups.push({
      title: 'warm CPU per accepted event',
      bars: Object.entries(results.warm).map(([name, w]) => ({
        name,
        value: w.accepted.cpuUsPerEvent / baseWarm,
        label: us(w.accepted.cpuUsPerEvent),
      })),
    });
  }
  const width = 720;
  const barHeight = 18;
  const left = 150;
  const scale = (width - left - 120) / 1.5;
  let y = 40;
  const parts: string[] = [];
  for (const group of groups) {
    parts.push(
      `<text x="10" y="${y}" font-weight="bold">${group.title} (ratio to baseline)</text>`,
    );
    y += 10;
    for (const bar of group.bars) {
      const w = Math.max(1, Math.min(1.5, bar.value) * scale);
      const colour = bar.name.startsWith('ours')
        ? '#2b6cb0'
        : bar.name === 'baseline'
          ? '#a0aec0'
          : '#68d391';
      parts.push(
        `<text x="10" y="${y + 13}">${bar.name}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight - 4}" fill="${colour}"/>`,
        `<text x="${left + w + 6}" y="${y + 13}">${bar.value.toFixed(2)}× (${bar.label})</text>`,
      );
      y += barHeight;
    }
    y += 24;
  }
  const ruleX = left + scale;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14">webhook ingress benchmark — ${results.generatedAt.slice(0, 10)}, Node ${results.machine.node}</text>`,
    `<line x1="${ruleX}" y1="26" x2="${ruleX}" y2="${y - 10}" stroke="#718096" stroke-dasharray="4 3"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
