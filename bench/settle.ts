/**
 * Between scenarios the stack finishes what the previous one left behind before the next is
 * measured: WalletService's outbox (history documents into FerretDB) and domain events drained,
 * and the machine back near idle. Otherwise a scenario pays for its predecessor's background
 * work (docs/benchmarks.md, "Settling between scenarios"): a 2,000-row outbox backlog takes most
 * of the two cores for ~14 s, and the reads measured right after the transfer scenarios stalled.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SettleResult {
  /** Seconds waited. */
  seconds: number;
  /** Whether every condition held before the deadline. */
  settled: boolean;
  /** What still held it back at the deadline, if anything. */
  pending?: string;
}

/** WalletService's backlog gauges, read from its /metrics. */
async function walletBacklog(walletUrl: string): Promise<{ outbox: number; events: number } | undefined> {
  try {
    const text = await (await fetch(`${walletUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const gauge = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { outbox: gauge('wallet_outbox_pending'), events: gauge('wallet_events_pending') };
  } catch {
    return undefined;
  }
}

/** Busy ticks and all ticks of the whole machine. */
function machineTicks(): { busy: number; all: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, all: busy + idle! + iowait! };
}

/**
 * Waits until WalletService reports no outbox rows and no domain events pending and the machine
 * is under `idleCores` busy over one second, or `timeoutMs` passed (then says what was left).
 */
export async function settleStack(
  walletUrl: string,
  options: { timeoutMs?: number; idleCores?: number; cores?: number } = {},
): Promise<SettleResult> {
  const { timeoutMs = 120_000, idleCores = 0.4, cores = 2 } = options;
  const started = performance.now();
  let pending = 'not checked';
  while (performance.now() - started < timeoutMs) {
    const before = machineTicks();
    await sleep(1_000);
    const after = machineTicks();
    const busyCores = ((after.busy - before.busy) / Math.max(1, after.all - before.all)) * cores;
    const backlog = await walletBacklog(walletUrl);
    const reasons = [
      backlog === undefined ? 'WalletService /metrics unreadable' : '',
      backlog && backlog.outbox > 0 ? `${backlog.outbox} outbox rows` : '',
      backlog && backlog.events > 0 ? `${backlog.events} domain events` : '',
      busyCores >= idleCores ? `machine ${busyCores.toFixed(2)} cores busy` : '',
    ].filter(Boolean);
    if (reasons.length === 0)
      return { seconds: Math.round((performance.now() - started) / 100) / 10, settled: true };
    pending = reasons.join(', ');
  }
  return { seconds: Math.round((performance.now() - started) / 100) / 10, settled: false, pending };
}
