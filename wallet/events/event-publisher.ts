import { once } from 'node:events';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import { YIELD_EVERY, createDrainLoop, yieldToEventLoop, type DrainLoop } from '../../lib/drain-loop.js';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';
import {
  EVENTS_EXCHANGE,
  UnpublishableRow,
  eventOfQueuedRow,
  eventsOfOutboxRow,
  type DomainEvent,
} from './domain-event.js';
import {
  claimQueuedEvents,
  claimUnpublishedBatch,
  countEventDeadLetters,
  eventsBacklog,
  releasePublishClaims,
  settlePublishedRows,
  type DeadEventRow,
} from './events.repository.js';

export interface EventPublisherOptions {
  db: Kysely<Database>;
  /** `amqp://user:password@host:port/vhost`; never logged (it holds the password). */
  url: string;
  log: Logger;
  registry?: Registry;
  batchSize?: number;
  /** How long a claimed batch belongs to this publisher before another service copy may take it. */
  leaseMs?: number;
  /** A batch whose confirms have not all arrived by then fails (the connection is dropped). */
  confirmTimeoutMs?: number;
  /** After a failed connection or batch, the next attempt waits this long, doubling up to 30 s. */
  retryDelayMs?: number;
  /** Test seam: runs after the broker confirmed a batch and before the rows are marked. */
  afterConfirm?: (events: readonly DomainEvent[]) => Promise<void>;
}

/** `drainOnce` publishes one batch, returns the larger of its two sources' row counts, throws when the broker is away. */
export interface EventPublisher extends DrainLoop {
  /** Whether a confirmed channel to the broker is open now (readiness reports it). */
  connected(): boolean;
  /** Stops the loop and closes the connection. */
  close(): Promise<void>;
}

/**
 * Publishes the outbox's domain events to RabbitMQ (docs/events.md), at least once, with its own
 * progress next to the MongoDB relay's (`outbox.published_at`):
 *
 * 1. Claim a batch of unsettled outbox rows and one of `event_queue` (the triggers' events), each
 *    with a lease in one committed statement.
 * 2. Turn each into its events; a row that cannot be turned into events is set aside
 *    (`event_dead_letters`) instead of blocking the rows after it.
 * 3. Publish every event persistent, `message_id` = `event_id`, on a confirm channel, and wait for
 *    the broker's confirms.
 * 4. Mark the outbox rows settled and delete the queue's. A crash between 3 and 4 re-publishes
 *    the batch once the lease passes: the same event ids, which consumers dedupe.
 *
 * A broker that is down or refuses fails the batch as a whole: the lease is given back, nothing
 * is set aside, and the backlog waits in the outbox (the lag metric grows) until it returns.
 * Money never waits for this loop: it only reads rows already committed.
 */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const { db, log } = options;
  const batchSize = options.batchSize ?? 200;
  const leaseMs = options.leaseMs ?? 60_000;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 15_000;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const registers = options.registry ? [options.registry] : [];

  const published = new Counter({
    name: 'wallet_events_published_total',
    help: 'Domain events confirmed by RabbitMQ',
    registers,
  });
  // Both sampled on each /metrics scrape, so the lag is visible even while the broker is away.
  new Gauge({
    name: 'wallet_events_pending',
    help: 'Rows (outbox and event_queue) whose events RabbitMQ has not confirmed yet',
    registers,
    async collect() {
      const backlog = await eventsBacklog(db).catch(() => undefined);
      if (backlog) this.set(backlog.pending);
    },
  });
  new Gauge({
    name: 'wallet_events_lag_seconds',
    help: 'Age of the oldest row whose events RabbitMQ has not confirmed yet (0 when drained)',
    registers,
    async collect() {
      const backlog = await eventsBacklog(db).catch(() => undefined);
      if (backlog) this.set(backlog.oldestAgeSeconds);
    },
  });
  const failures = new Counter({
    name: 'wallet_events_publish_failures_total',
    help: 'Event batches that failed as a whole (broker unreachable, refused or slow to confirm)',
    registers,
  });
  const deadLettered = new Counter({
    name: 'wallet_events_dead_letters_total',
    help: 'Rows set aside in event_dead_letters by this process (no event could be made of them)',
    registers,
  });
  new Gauge({
    name: 'wallet_events_dead_letters',
    help: 'Rows in event_dead_letters (each is an event consumers never received)',
    registers,
    async collect() {
      const n = await countEventDeadLetters(db).catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });
  const brokerUp = new Gauge({
    name: 'wallet_events_broker_up',
    help: 'Whether the event publisher holds an open confirm channel to RabbitMQ',
    registers,
  });

  let model: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  let closed = false;

  function forget(reason: string) {
    if (channel) log.warn({ reason }, 'RabbitMQ connection lost; domain events wait in the outbox');
    const m = model;
    model = undefined;
    channel = undefined;
    brokerUp.set(0);
    m?.close().catch(() => undefined);
  }

  async function open(): Promise<ConfirmChannel> {
    if (channel) return channel;
    const m = await connect(options.url, {
      timeout: 5_000,
      clientProperties: { connection_name: 'velora-wallet-events' },
    });
    // Without listeners an 'error' event would crash the process; both end in 'close'.
    m.on('error', () => undefined);
    m.on('close', () => {
      if (model === m) forget('connection closed');
    });
    try {
      const ch = await m.createConfirmChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        if (channel === ch) forget('channel closed');
      });
      await ch.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
      model = m;
      channel = ch;
      brokerUp.set(1);
      log.info({ exchange: EVENTS_EXCHANGE }, 'publishing domain events to RabbitMQ');
      return ch;
    } catch (err) {
      await m.close().catch(() => undefined);
      throw err;
    }
  }

  async function publish(ch: ConfirmChannel, events: readonly DomainEvent[]): Promise<void> {
    for (const [i, event] of events.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
      const ok = ch.publish(EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        messageId: event.event_id,
        type: event.type,
        contentType: 'application/json',
        timestamp: Math.floor(Date.parse(event.occurred_at) / 1000),
        appId: 'velora-wallet',
      });
      if (!ok) await once(ch, 'drain');
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ch.waitForConfirms(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`RabbitMQ did not confirm within ${confirmTimeoutMs} ms`)),
            confirmTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Turns a row into its events, or records why it cannot be (the row is then set aside). */
  function convert<R>(row: R, toEvents: (row: R) => DomainEvent[], onDead: (error: string) => void) {
    try {
      return toEvents(row);
    } catch (err) {
      if (!(err instanceof UnpublishableRow)) throw err;
      onDead(err.message);
      return [];
    }
  }

  async function drainOnce(): Promise<number> {
    const ch = await open();
    const rows = await claimUnpublishedBatch(db, batchSize, leaseMs);
    const queued = await claimQueuedEvents(db, batchSize, leaseMs);
    if (rows.length === 0 && queued.length === 0) return 0;
    const claimed = { outbox: rows.map((r) => r.id), queue: queued.map((r) => r.id) };
    const dead: DeadEventRow[] = [];
    // Oldest first across both sources (the same transaction's rows keep their source order).
    const sources: { at: number; events: DomainEvent[] }[] = [];
    for (const [i, row] of rows.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
      sources.push({
        at: row.created_at.getTime(),
        events: convert(row, eventsOfOutboxRow, (error) => dead.push({ source: 'outbox', row, error })),
      });
    }
    for (const [i, row] of queued.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
      sources.push({
        at: row.created_at.getTime(),
        events: convert(
          row,
          (r) => [eventOfQueuedRow(r)],
          (error) => dead.push({ source: 'event_queue', row, error }),
        ),
      });
    }
    sources.sort((a, b) => a.at - b.at);
    const events = sources.flatMap((s) => s.events);
    try {
      if (events.length > 0) await publish(ch, events);
      await options.afterConfirm?.(events);
    } catch (err) {
      forget('publish failed');
      await releasePublishClaims(db, claimed).catch(() => undefined); // the lease runs out on its own
      throw err;
    }
    const deadIds = new Set(dead.map((d) => `${d.source}:${d.row.id}`));
    await settlePublishedRows(
      db,
      {
        outbox: claimed.outbox.filter((id) => !deadIds.has(`outbox:${id}`)),
        queue: claimed.queue.filter((id) => !deadIds.has(`event_queue:${id}`)),
      },
      dead,
    );
    published.inc(events.length);
    if (dead.length > 0) {
      deadLettered.inc(dead.length);
      log.error(
        { deadLettered: dead.length, error: dead[0]!.error },
        'rows set aside in event_dead_letters (docs/runbook.md)',
      );
    }
    // A full batch of either source means more may wait: the loop runs again at once.
    return Math.max(rows.length, queued.length);
  }

  const loop = createDrainLoop({
    drainOnce,
    batchSize,
    // A broker outage costs one attempt per delay, not one per tick and kick.
    backoff: { firstMs: retryDelayMs, maxMs: 30_000 },
    onError: (err, failuresInARow) => {
      failures.inc();
      // Once per outage, not once per attempt; the lag metric and broker_up tell the rest.
      if (failuresInARow === 1) log.warn({ err: describe(err) }, 'event publishing failed; will retry');
    },
  });

  return {
    ...loop,
    connected: () => channel !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      await loop.stop();
      const m = model;
      model = undefined;
      channel = undefined;
      await m?.close().catch(() => undefined);
    },
  };
}

/** An error's name and message only: a connection error must not carry the URL's password. */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
