/**
 * How many transfers wait in `needs_attention` (a release or a capture that ran out of retries,
 * docs/runbook.md), as a gauge on the worker's /metrics: the number an operator's alert wants,
 * where the activity-failure counters only tell that something failed.
 *
 * The count comes from Temporal's visibility store (one CountWorkflowExecutions on the
 * `TransferStatus` search attribute, an index lookup, no history read), asked when a scrape finds
 * the last count older than `maxAgeMs`: a scrape every 15 s costs one count per 30 s per worker,
 * however many transfers there are, and no timer runs when nobody scrapes. A scrape never waits
 * longer than `timeoutMs` for it; a count that fails or is slow leaves the last value, and
 * `…_updated_timestamp_seconds` shows how old that is.
 */
import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { TRANSFER_WORKFLOW_TYPE } from '../workflows/transfer-contract.js';

/** Running transfers whose last status is `needs_attention` (a closed run is never parked). */
export const PARKED_TRANSFERS_QUERY = `WorkflowType = '${TRANSFER_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TransferStatus = 'needs_attention'`;

export interface ParkedTransfersOptions {
  /** The worker's Temporal client (its namespace is the one counted). */
  client: Client;
  registry: Registry;
  log: Logger;
  /** A count older than this is refreshed by the next scrape. */
  maxAgeMs?: number;
  /** How long a scrape waits for the refresh before it reports the last count. */
  timeoutMs?: number;
  /** The visibility query (tests narrow it to their own task queue). */
  query?: string;
}

/** Registers the gauges; returns `refresh` (what a stale scrape calls) for tests. */
export function registerParkedTransfersGauge(options: ParkedTransfersOptions): {
  refresh: () => Promise<void>;
} {
  const { registry, log, maxAgeMs = 30_000, timeoutMs = 2_000, query = PARKED_TRANSFERS_QUERY } = options;
  const { client } = options;
  let countedAt = 0;
  let inFlight: Promise<void> | undefined;

  const updated = new Gauge({
    name: 'orchestrator_transfers_needs_attention_updated_timestamp_seconds',
    help: 'Unix time of the last successful count of transfers in needs_attention',
    registers: [registry],
  });

  const refresh = (): Promise<void> => {
    inFlight ??= client.workflow
      .count(query)
      .then(({ count }) => {
        countedAt = Date.now();
        parked.set(count);
        updated.set(countedAt / 1000);
      })
      .catch((err: unknown) => {
        log.warn({ err }, 'could not count the transfers in needs_attention; the gauge keeps its last value');
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const parked = new Gauge({
    name: 'orchestrator_transfers_needs_attention',
    help: 'Transfers waiting in needs_attention for an operator (Temporal visibility count)',
    registers: [registry],
    async collect() {
      if (Date.now() - countedAt < maxAgeMs) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        refresh(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
  });

  return { refresh };
}
