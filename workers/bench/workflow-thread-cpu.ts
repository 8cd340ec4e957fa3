/**
 * What the workflow sandbox costs per transfer, without a server: replays recorded transfer
 * histories with `Worker.runReplayHistories` (the same sandbox, promise hooks and stack capture
 * a polling worker runs) and reports the process's CPU time per replayed transfer, for each
 * bundle variant, interleaved round by round on this noisy machine (median and spread).
 *
 *   node --import tsx workers/bench/workflow-thread-cpu.ts [replays per measurement=200] [rounds=5] [history]
 *
 * Variants: `default` (bundleWorkflowCode's inline source map), `empty-map` (the same code with
 * a source map that maps nothing: the sandbox still looks every stack frame up, in an empty
 * table). No assertion: the numbers go to docs/benchmarks.md ("Worker profile").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { historyFromJson } from '../testing/history-json.js';

const [perMeasurement = 200, rounds = 5] = process.argv.slice(2, 4).map(Number);
const here = path.dirname(fileURLToPath(import.meta.url));
const HISTORY = process.argv[4] ?? path.join(here, '../../test/histories/transfer-completed.json');

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

const history = historyFromJson(JSON.parse(readFileSync(HISTORY, 'utf8')));

async function cpuPerReplay(bundle: WorkflowBundle): Promise<number> {
  const histories = Array.from({ length: perMeasurement }, (_, i) => ({ workflowId: `bench-${i}`, history }));
  const start = process.cpuUsage();
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    if (result.error) throw result.error;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perMeasurement;
}

const INLINE_MAP = '//# sourceMappingURL=data:';

/**
 * The same code with an inline source map that maps nothing (the SDK refuses a bundle without
 * one): every frame lookup finds no entry at once, and stacks keep the function names but lose
 * the sources' file:line:column.
 */
function withEmptySourceMap(code: string): string {
  const at = code.lastIndexOf(INLINE_MAP);
  const original = JSON.parse(
    Buffer.from(code.slice(code.indexOf('base64,', at) + 'base64,'.length).trimEnd(), 'base64').toString(),
  ) as { file?: string };
  const empty = { version: 3, file: original.file, sources: [], names: [], mappings: '' };
  return `${code.slice(0, at)}${INLINE_MAP}application/json;base64,${Buffer.from(JSON.stringify(empty)).toString('base64')}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const logger = new DefaultLogger('ERROR');
const workflowsPath = path.join(here, '../../workflows/index.ts');
const base = await bundleWorkflowCode({ workflowsPath, logger });
const variants: Record<string, WorkflowBundle> = {
  default: base,
  'empty-map': { code: withEmptySourceMap(base.code) },
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
await cpuPerReplay(base); // warm-up: JIT, the native replay worker
for (let round = 0; round < rounds; round++) {
  for (const [name, bundle] of Object.entries(variants)) {
    samples[name]!.push(await cpuPerReplay(bundle));
  }
}
for (const [name, xs] of Object.entries(samples)) {
  const sorted = [...xs].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(10)} CPU per replayed transfer: median ${(median(xs) / 1000).toFixed(2)} ms ` +
      `(min ${(sorted[0]! / 1000).toFixed(2)}, max ${(sorted.at(-1)! / 1000).toFixed(2)}; ${rounds} rounds of ${perMeasurement})`,
  );
}
