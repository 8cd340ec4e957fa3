/**
 * The markdown summary of one run (stdout of `npm run bench`, and the results section of
 * docs/benchmarks.md): knees, p50/p99 at half the knee, every figure also as a ratio to the
 * reference measured in the same run, and the CPU per process.
 */
import type { CpuReport } from './cpu.js';
import type { LedgerResult } from './ledger/ledger-bench.js';
import type { ScenarioResult, StepRecord } from './scenario.js';

export interface RunMeta {
  date: string;
  commit: string;
  dirty: boolean;
  quick: boolean;
  cores: number;
  loadBefore: number[];
  timing: { warmupMs: number; stepMs: number; halfKneeMs: number };
  notes: string[];
  /** Before each scenario: how long the stack took to drain what the previous one left (bench/settle.ts). */
  settling?: string[];
}

export interface RunResults {
  meta: RunMeta;
  scenarios: ScenarioResult[];
  ledger?: LedgerResult;
  /** Hot wallet: balance change vs transfers seen completed. */
  hotDrift?: {
    completed: number;
    unknown: number;
    expectedDelta: string;
    actualDelta: string;
    drift: string;
  };
}

/** Which measured reference each scenario is compared with (same run). */
export const REFERENCE: Record<string, string> = {
  'temporal-floor/transfer': 'temporal-floor/empty',
  'transfers/uniform': 'temporal-floor/transfer',
  'transfers/hot': 'temporal-floor/transfer',
};

const fmt = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : Number(n.toFixed(digits)).toString();
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null ||
  a === undefined ||
  b === null ||
  b === undefined ||
  !Number.isFinite(a) ||
  !Number.isFinite(b) ||
  b === 0
    ? '—'
    : `${(a / b).toFixed(2)}×`;

/** ms of CPU per completed request, per process, from a step's CPU and successes. */
export function cpuPerOp(cpu: CpuReport, ok: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (ok === 0) return out;
  for (const [name, cores] of Object.entries(cpu.cores))
    out[name] = Number(((cores * cpu.seconds * 1000) / ok).toFixed(2));
  return out;
}

function cpuLine(cpu: CpuReport, ok?: number): string {
  const perOp = ok ? cpuPerOp(cpu, ok) : {};
  const parts = Object.entries(cpu.cores)
    .filter(([, cores]) => cores >= 0.005)
    .map(
      ([name, cores]) =>
        `${name} ${fmt(cores, 2)}${perOp[name] !== undefined ? ` (${fmt(perOp[name], 2)} ms/op)` : ''}`,
    );
  return `${parts.join(', ')}; machine busy ${fmt(cpu.machineBusy, 2)} cores, other work ${fmt(cpu.other, 2)}, iowait ${fmt(cpu.machineIowait, 2)}`;
}

/** The step nearest the knee (the highest passing one), for the CPU at saturation. */
function kneeStep(s: ScenarioResult): StepRecord | undefined {
  return s.knee === null ? undefined : s.steps.find((st) => st.rate === s.knee);
}

export function renderMarkdown(results: RunResults): string {
  const { meta } = results;
  const by = new Map(results.scenarios.map((s) => [s.name, s]));
  const out: string[] = [];
  out.push(
    `## Results — ${meta.date}, commit \`${meta.commit}\`${meta.dirty ? ' (with uncommitted changes)' : ''}${meta.quick ? ', QUICK run (smoke only)' : ''}`,
  );
  out.push('');
  out.push(
    `${meta.cores} cores, load average before the run ${meta.loadBefore.map((l) => l.toFixed(2)).join(' / ')}; steps of ${meta.timing.stepMs / 1000} s after a ${meta.timing.warmupMs / 1000} s warm-up, ${meta.timing.halfKneeMs / 1000} s at half the knee.`,
  );
  for (const note of meta.notes) out.push(`\n> ${note}`);
  if (meta.settling?.length)
    out.push(`\n> Between scenarios (outbox and events drained, machine idle): ${meta.settling.join('; ')}`);
  out.push('');
  out.push(
    '| scenario | knee /s | reference (same run) | knee ÷ ref | p50 @ ½ knee | p99 @ ½ knee | p50 ÷ ref | p99 ÷ ref |',
  );
  out.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const s of results.scenarios) {
    const refName = REFERENCE[s.name];
    const ref = refName ? by.get(refName) : undefined;
    out.push(
      `| ${s.name} | ${fmt(s.knee)}${s.halfKnee && !s.halfKnee.pass ? ' (½ knee did not keep up)' : ''} | ${refName ?? '—'}${ref ? ` (${fmt(ref.knee)}/s)` : ''} | ${ratio(s.knee, ref?.knee)} | ${fmt(s.halfKnee?.p50)} ms | ${fmt(s.halfKnee?.p99)} ms | ${ratio(s.halfKnee?.p50, ref?.halfKnee?.p50)} | ${ratio(s.halfKnee?.p99, ref?.halfKnee?.p99)} |`,
    );
  }
  const l = results.ledger;
  if (l) {
    out.push(
      `| ledger (reserve+capture pairs, closed loop, ${l.ledger.clients} clients) | ${fmt(l.ledger.perSecond)} | pgbench tpcb-like (${fmt(l.pgbench.perSecond)} tps) | ${fmt(l.ratio, 2)}× | ${fmt(l.ledger.p50, 2)} ms | ${fmt(l.ledger.p99, 2)} ms | ${ratio(l.ledger.p50, l.pgbench.p50)} | ${ratio(l.ledger.p99, l.pgbench.p99)} |`,
    );
    // A result file written before the one-call form has no oneCall.
    if (l.oneCall)
      out.push(
        `| ledger (reserve capturing in one call, closed loop, ${l.oneCall.clients} clients) | ${fmt(l.oneCall.perSecond)} | pgbench tpcb-like (${fmt(l.pgbench.perSecond)} tps) | ${fmt(l.oneCallRatio, 2)}× | ${fmt(l.oneCall.p50, 2)} ms | ${fmt(l.oneCall.p99, 2)} ms | ${ratio(l.oneCall.p50, l.pgbench.p50)} | ${ratio(l.oneCall.p99, l.pgbench.p99)} |`,
      );
  }
  const uniform = by.get('transfers/uniform');
  const hot = by.get('transfers/hot');
  const empty = by.get('temporal-floor/empty');
  const shape = by.get('temporal-floor/transfer');
  const lines: string[] = [];
  if (uniform) {
    lines.push(
      `- **e2e / floor** (uniform): ${ratio(uniform.knee, shape?.knee)} of the transfer-shaped floor, ${ratio(uniform.knee, empty?.knee)} of the empty-workflow floor (target ≥ 0.75× the empty floor, and ≥ 30/s).`,
    );
  }
  if (hot) {
    lines.push(
      `- **e2e / floor** (hot): ${ratio(hot.knee, shape?.knee)} of the transfer-shaped floor; hot ÷ uniform ${ratio(hot.knee, uniform?.knee)} (target ≥ 0.8×).`,
    );
  }
  if (results.hotDrift) {
    const d = results.hotDrift;
    lines.push(
      `- hot wallet drift: balance moved ${d.actualDelta}, ${d.completed} completed transfers account for ${d.expectedDelta} → drift **${d.drift}** (${d.unknown} transfers of unknown outcome).`,
    );
  }
  const reads = by.get('reads');
  if (reads)
    lines.push(
      `- reads: knee ${fmt(reads.knee)}/s = ${ratio(reads.knee, 2000)} of the 2,000/s target (no in-run reference).`,
    );
  if (lines.length) out.push('', ...lines);

  if (l) {
    out.push(
      '',
      `The ledger row is closed loop (${l.ledger.clients} clients, unthrottled, like pgbench): its p50/p99 are at full load, not at half a knee.`,
    );
  }
  if (results.scenarios.length > 0) {
    out.push('', '### Steps', '');
    out.push(
      '| scenario | offered /s | achieved /s | ok | errors | p50 ms | p90 ms | p99 ms | max ms | send lag p99 ms | verdict |',
    );
    out.push('| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const s of results.scenarios) {
      const rows: [string, StepRecord][] = [
        ...(s.warmup ? [['warm-up', s.warmup] as [string, StepRecord]] : []),
        ...(s.repeated ? [['first try, repeated', s.repeated] as [string, StepRecord]] : []),
        ...s.steps.map((st) => ['', st] as [string, StepRecord]),
        ...(s.halfKnee ? [['½ knee', s.halfKnee] as [string, StepRecord]] : []),
      ];
      for (const [label, st] of rows) {
        const errs = Object.entries(st.errors)
          .map(([k, v]) => `${k}×${v}`)
          .join(' ');
        out.push(
          `| ${s.name}${label ? ` (${label})` : ''} | ${st.rate} | ${st.achieved} | ${st.ok}/${st.sent} | ${errs || '—'} | ${fmt(st.p50)} | ${fmt(st.p90)} | ${fmt(st.p99)} | ${fmt(st.max)} | ${fmt(st.sendLagP99)} | ${label === 'warm-up' ? '(not judged)' : st.pass ? 'keeps up' : st.reasons.join('; ')}${label === 'first try, repeated' ? ' (not counted: run again)' : ''} |`,
        );
      }
    }
  }

  out.push('', '### CPU per process (cores; ms of CPU per completed request)', '');
  for (const s of results.scenarios) {
    if (s.halfKnee)
      out.push(`- ${s.name} at ½ knee (${s.halfKnee.rate}/s): ${cpuLine(s.halfKnee.cpu, s.halfKnee.ok)}`);
    const k = kneeStep(s);
    if (k) out.push(`- ${s.name} at the knee (${k.rate}/s): ${cpuLine(k.cpu, k.ok)}`);
    const last = s.steps.at(-1);
    if (!s.halfKnee && last) out.push(`- ${s.name} at ${last.rate}/s: ${cpuLine(last.cpu, last.ok)}`);
  }
  if (l) {
    out.push(`- ledger reserve+capture (${l.ledger.perSecond} pairs/s): ${cpuLine(l.ledger.cpu)}`);
    if (l.oneCall)
      out.push(
        `- ledger reserve capturing in one call (${l.oneCall.perSecond} transfers/s): ${cpuLine(l.oneCall.cpu)}`,
      );
    out.push(`- pgbench tpcb-like (${l.pgbench.perSecond} tps): ${cpuLine(l.pgbench.cpu)}`);
    out.push(
      `- ledger driver: ${l.ledger.driver}; ${l.ledger.wallets} wallets; pgbench scale ${l.pgbench.scale}`,
    );
    const errs = Object.entries(l.ledger.errors);
    if (errs.length) out.push(`- ledger errors: ${errs.map(([k, v]) => `${k}×${v}`).join(', ')}`);
  }
  out.push(
    '',
    `Generator: \`bench (generator)\` above is the load generator's own CPU (the Temporal client for the floor).`,
  );
  return out.join('\n');
}
