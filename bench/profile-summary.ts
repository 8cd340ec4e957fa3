/**
 * Sums `.cpuprofile` files (Node's `--cpu-prof`, one per thread) into where the time went:
 * self time by function and by module (a package, or a file of ours), and inclusive time of the
 * functions that matter most — per transfer when `--per N` gives the number of operations the
 * profiled window served.
 *
 *   node --import tsx bench/profile-summary.ts .stack/prof/*.cpuprofile --per 240 --top 30 --since 123456789
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    per: { type: 'string' },
    top: { type: 'string', default: '25' },
    /**
     * Count only samples after this CLOCK_MONOTONIC time in µs (what V8 stamps profiles with;
     * `node -p 'String(process.hrtime.bigint() / 1000n)'` right before the load), so start-up (tsx, the
     * workflow bundle) is left out of every thread's profile alike.
     */
    since: { type: 'string', default: '0' },
    /** …and before this one (the end of the load: shutdown is left out too). */
    until: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
  },
});
const per = values.per ? Number(values.per) : undefined;
const top = Number(values.top);
const sinceUs = Number(values.since);
const untilUs = Number(values.until);

/** `node_modules/<pkg>` (scoped too), `node:<internal>`, our own file, or `(program)`-like. */
function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const root = url.indexOf('/work/');
  return root >= 0 ? url.slice(url.indexOf('/', root + 6) + 1) : url;
}

const self = new Map<string, number>();
const byModule = new Map<string, number>();
const inclusive = new Map<string, number>();
let totalUs = 0;
let idleUs = 0;

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const us = new Map<number, number>();
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (at >= sinceUs && at < untilUs) us.set(id, (us.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  for (const [id, t] of us) {
    const node = nodes.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += t;
      continue;
    }
    totalUs += t;
    const name = `${functionName || '(anonymous)'} ${moduleOf(url, functionName)}:${lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + t);
    const mod = moduleOf(url, functionName);
    byModule.set(mod, (byModule.get(mod) ?? 0) + t);
    // Inclusive: every distinct frame on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = nodes.get(cur)!.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${moduleOf(f.url, f.functionName)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
}

const fmt = (us: number) =>
  `${((100 * us) / totalUs).toFixed(1).padStart(5)} %${per ? `  ${(us / 1000 / per).toFixed(3).padStart(7)} ms/op` : ''}`;
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n## ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
};
console.log(
  `busy ${(totalUs / 1e6).toFixed(2)} s (idle ${(idleUs / 1e6).toFixed(2)} s) in ${positionals.length} profile(s)` +
    (per ? `; ${(totalUs / 1000 / per).toFixed(2)} ms per op over ${per} ops` : ''),
);
print('self time by module', byModule);
print('self time by function', self);
print('inclusive time by function', inclusive);
