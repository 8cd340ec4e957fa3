import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { createWalletApp } from '../app.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { purgeRelayedOutbox } from '../outbox/outbox.repository.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { EVENTS_EXCHANGE, eventIdOf, type DomainEvent, type EventType } from './domain-event.js';
import { createEventPublisher, type EventPublisherOptions } from './event-publisher.js';
import { purgeUnpublishedEventQueue } from './events.repository.js';

/** The broker the stack gives services (.env.example), i.e. the machine's RabbitMQ. */
const BROKER_URL = process.env.RABBITMQ_URL || envExampleDefaults().RABBITMQ_URL!;
const BROKER = new URL(BROKER_URL);

/**
 * A TCP proxy in front of the real broker: `stop()` is an outage as the publisher sees it (its
 * connection is cut, new ones are refused), `start()` brings the broker back on the same port.
 */
function createBrokerProxy() {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  function listen(): Promise<void> {
    if (server) return Promise.resolve();
    server = net.createServer((client) => {
      const upstream = net.connect(Number(BROKER.port || 5672), BROKER.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    return new Promise((resolve) =>
      server!.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      }),
    );
  }
  return {
    start: listen,
    url: () => {
      const u = new URL(BROKER_URL);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async stop() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    },
  };
}

/** A consumer with its own queue bound to every event, read by pulling (no timing involved). */
async function createConsumer(channel: Channel) {
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, '#');
  const deliveries: GetMessage[] = [];
  /** What the queue holds now: after the publisher's confirms, everything it published. */
  async function take(): Promise<GetMessage[]> {
    const got: GetMessage[] = [];
    for (;;) {
      const m = await channel.get(queue, { noAck: true });
      if (m === false) break;
      got.push(m);
    }
    deliveries.push(...got);
    return got;
  }
  return { take, deliveries };
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function body(m: GetMessage): DomainEvent {
  return JSON.parse(m.content.toString('utf8')) as DomainEvent;
}

/** The consumer's dedupe: one event per `event_id`, and how often each was delivered. */
function dedupe(deliveries: readonly GetMessage[]) {
  const events = new Map<string, DomainEvent>();
  const times = new Map<string, number>();
  for (const m of deliveries) {
    const e = body(m);
    events.set(e.event_id, e);
    times.set(e.event_id, (times.get(e.event_id) ?? 0) + 1);
  }
  return { events, times };
}

let h: WalletHarness;
let consumerConnection: ChannelModel;
let consumerChannel: Channel;
const proxy = createBrokerProxy();
const log = createLogger('events-test', 'silent');

beforeAll(async () => {
  // A private database: the publisher drains every unpublished row, so no other file's rows.
  h = await createWalletHarness({ isolated: 'events' });
  consumerConnection = await connect(BROKER_URL);
  consumerChannel = await consumerConnection.createChannel();
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
  await consumerConnection?.close();
  await h?.close();
});

function publisher(options: Partial<EventPublisherOptions> = {}) {
  return createEventPublisher({ db: h.db, url: proxy.url(), log, retryDelayMs: 10, ...options });
}

/** The final step's records, as the orchestrator sends them with a capture or release. */
function records(transferId: string, userId: string, outcome: 'completed' | 'failed', failureCode?: string) {
  return {
    auth_log: {
      transfer_id: transferId,
      workflow_id: `transfer-${transferId}`,
      user_id: userId,
      client_id: 'velora-web',
      token_jti: randomUUID(),
      ip: '203.0.113.7',
      user_agent: 'events-test',
      step_up: false,
      outcome,
      ...(failureCode ? { failure_code: failureCode } : {}),
    },
    audit: [{ step: 'reserve', status: 'completed', attempt: 1, duration_ms: 3 }],
  };
}

async function userOf(walletId: string): Promise<string> {
  return String((await h.call('GET', `/internal/wallets/${walletId}`)).body.user_id);
}

/** One whole transfer as the orchestrator drives it: reserve, then capture with its records. */
async function transfer(from: string, to: string, amount: string): Promise<string> {
  const held = await h.hold(from, amount, { to });
  expect(held.status).toBe(201);
  const captured = await h.call('POST', `/internal/holds/${held.body.id}/capture`, {
    body: { to_wallet_id: to, records: records(held.transferId, await userOf(from), 'completed') },
    key: randomUUID(),
  });
  expect(captured.status).toBe(200);
  return held.transferId;
}

/** Every event id the ledger says these wallets and transfers produced. */
async function expectedEventIds(wallets: string[], transfers: string[]): Promise<Map<string, EventType>> {
  const expected = new Map<string, EventType>();
  const add = (type: EventType, source: string) => expected.set(eventIdOf(type, source), type);
  for (const w of wallets) add('wallet.created', w);
  const postings = await h.db
    .selectFrom('postings')
    .select(['id', 'amount'])
    .where('wallet_id', 'in', wallets)
    .execute();
  for (const p of postings) add(p.amount > 0n ? 'wallet.credited' : 'wallet.debited', p.id);
  const holds = await h.db
    .selectFrom('holds')
    .select(['id', 'status'])
    .where('wallet_id', 'in', wallets)
    .execute();
  for (const hold of holds) {
    add('hold.created', hold.id);
    if (hold.status !== 'active') add(`hold.${hold.status}` as EventType, hold.id);
  }
  for (const t of transfers) add('transfer.completed', t);
  return expected;
}

describe('domain events on RabbitMQ', () => {
  it('every event of the transfers arrives once per event_id across a broker outage mid-run, and money never waits for it', async () => {
    const registry = new Registry();
    let crashOnce = true;
    const events = publisher({
      registry,
      // A publisher that dies after the broker confirmed but before the rows were marked: the
      // batch is published again (at least once), and the consumer's dedupe absorbs it.
      afterConfirm: async (batch) => {
        if (crashOnce && batch.length > 0) {
          crashOnce = false;
          throw new Error('simulated crash between the confirm and the mark');
        }
      },
      leaseMs: 500,
    });
    const consumer = await createConsumer(consumerChannel);
    events.start(20);
    try {
      const alice = await h.wallet('USD', 10_000n);
      const bob = await h.wallet('USD');
      const transfers = [await transfer(alice, bob, '100'), await transfer(bob, alice, '40')];

      // The broker goes away: transfers go on, their events wait in the outbox.
      await proxy.stop();
      for (let i = 0; i < 3; i++) transfers.push(await transfer(alice, bob, String(10 + i)));
      expect(await h.balance(bob)).toMatchObject({ posted: String(100 - 40 + 10 + 11 + 12) });
      await until('the publisher to notice the outage', async () => !events.connected());
      expect(await registry.metrics()).toMatch(/^wallet_events_pending [1-9]/m);

      // It comes back: the backlog drains without anyone doing anything.
      await proxy.start();
      await events.stop();
      // The loop may have been between a failed attempt and its retry: finish explicitly.
      await events.drainAll();
      await consumer.take();

      const expected = await expectedEventIds([alice, bob], transfers);
      const mine = consumer.deliveries.filter((m) => expected.has(body(m).event_id));
      const { events: received, times } = dedupe(mine);
      expect(new Set(received.keys())).toEqual(new Set(expected.keys()));
      // At least once: the simulated crash re-published a batch, and dedupe made it one each.
      expect([...times.values()].some((n) => n > 1)).toBe(true);
      for (const [id, event] of received) expect(event.type).toBe(expected.get(id));
      expect(await registry.metrics()).toMatch(/^wallet_events_pending 0$/m);

      // The message is the contract of docs/events.md.
      const completed = mine.find((m) => body(m).type === 'transfer.completed')!;
      expect(completed.fields.routingKey).toBe('transfer.completed');
      expect(completed.properties.messageId).toBe(body(completed).event_id);
      expect(completed.properties.deliveryMode).toBe(2);
      expect(completed.properties.contentType).toBe('application/json');
      const first = body(completed);
      expect(first).toEqual({
        event_id: eventIdOf('transfer.completed', transfers[0]!),
        type: 'transfer.completed',
        occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: {
          transfer_id: transfers[0],
          user_id: await userOf(alice),
          transaction_id: expect.any(String),
          from_wallet_id: alice,
          to_wallet_id: bob,
          currency: 'USD',
          amount: '100',
        },
      });
      const credited = [...received.values()].find(
        (e) => e.type === 'wallet.credited' && e.data.wallet_id === bob,
      )!;
      expect(credited.data).toMatchObject({ amount: expect.stringMatching(/^\d+$/), currency: 'USD' });
      expect(typeof credited.data.balance_after).toBe('string');
      const created = [...received.values()].find((e) => e.type === 'hold.created')!;
      expect(typeof created.data.amount).toBe('string');
    } finally {
      await proxy.start();
      await events.close();
    }
  });

  it('a failed reservation publishes only its transfer.failed', async () => {
    const events = publisher();
    const consumer = await createConsumer(consumerChannel);
    try {
      const poor = await h.wallet('USD', 50n);
      const payee = await h.wallet('USD');
      await events.drainAll(); // the wallets' own events, before the transfer
      await consumer.take();

      const refused = await h.hold(poor, '5000', { to: payee });
      expect(refused.status).toBe(422);
      const released = await h.call('POST', `/internal/transfers/${refused.transferId}/release`, {
        body: { records: records(refused.transferId, await userOf(poor), 'failed', 'insufficient_funds') },
        key: randomUUID(),
      });
      expect(released.status).toBe(200);
      await events.drainAll();
      const after = (await consumer.take()).map(body);
      const aboutIt = after.filter(
        (e) =>
          e.data.transfer_id === refused.transferId ||
          e.data.wallet_id === poor ||
          e.data.wallet_id === payee,
      );
      expect(aboutIt).toEqual([
        {
          event_id: eventIdOf('transfer.failed', refused.transferId),
          type: 'transfer.failed',
          occurred_at: expect.any(String),
          data: {
            transfer_id: refused.transferId,
            user_id: await userOf(poor),
            failure_code: 'insufficient_funds',
          },
        },
      ]);
    } finally {
      await events.close();
    }
  });

  it('a release and an expiry publish hold.released and hold.expired', async () => {
    const events = publisher();
    const consumer = await createConsumer(consumerChannel);
    try {
      const w = await h.wallet('USD', 1_000n);
      const released = await h.hold(w, '100');
      const expiring = await h.hold(w, '200');
      expect(
        (
          await h.call('POST', `/internal/transfers/${released.transferId}/release`, {
            body: {},
            key: randomUUID(),
          })
        ).status,
      ).toBe(200);
      await sql`update holds set expires_at = now() - interval '1 second' where id = ${expiring.body.id}`.execute(
        h.db,
      );
      expect((await h.call('POST', '/internal/holds/expire')).status).toBe(200);
      await events.drainAll();
      const got = (await consumer.take()).map(body).filter((e) => e.data.wallet_id === w);
      const types = got.map((e) => `${e.type}:${e.data.hold_id as string}`);
      expect(types).toEqual(
        expect.arrayContaining([
          `hold.created:${released.body.id}`,
          `hold.released:${released.body.id}`,
          `hold.created:${expiring.body.id}`,
          `hold.expired:${expiring.body.id}`,
        ]),
      );
      expect(got.filter((e) => e.type.startsWith('hold.'))).toHaveLength(4);
      // A release moves no money: no wallet.credited or debited beyond the funding deposit.
      expect(got.filter((e) => e.type === 'wallet.debited')).toEqual([]);
    } finally {
      await events.close();
    }
  });

  it('a row that cannot be turned into events is set aside and the rows after it flow', async () => {
    const registry = new Registry();
    const events = publisher({ registry });
    const consumer = await createConsumer(consumerChannel);
    try {
      await events.drainAll();
      await consumer.take();
      const badId = randomUUID();
      await sql`insert into outbox (event_id, collection, document, relayed_at)
        values (${badId}, 'transaction_history', '{"wallet_id": 42}', now())`.execute(h.db);
      const badQueued = `hold.created:${randomUUID()}`;
      await sql`insert into event_queue (source_id, document) values (${badQueued}, '{"type": "hold.moved"}')`.execute(
        h.db,
      );
      const w = await h.wallet('USD');
      await events.drainAll();
      const got = (await consumer.take()).map(body);
      expect(got).toContainEqual(
        expect.objectContaining({ type: 'wallet.created', data: expect.objectContaining({ wallet_id: w }) }),
      );
      const { rows } = await sql<{ error: string }>`
        select error from event_dead_letters where event_id = ${badId}`.execute(h.db);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.error).toMatch(/transaction_history/);
      const { rows: queued } = await sql<{ source: string }>`
        select source from event_dead_letters where event_id = ${badQueued}`.execute(h.db);
      expect(queued).toEqual([{ source: 'event_queue' }]);
      const { rows: left } = await sql`select id from event_queue where source_id = ${badQueued}`.execute(
        h.db,
      );
      expect(left).toEqual([]);
      expect(await registry.metrics()).toMatch(/^wallet_events_dead_letters [1-9]/m);
      // The row stays for MongoDB; it is only settled for the publisher.
      const row = await h.db
        .selectFrom('outbox')
        .select('published_at')
        .where('event_id', '=', badId)
        .executeTakeFirst();
      expect(row?.published_at).toBeInstanceOf(Date);
    } finally {
      await events.close();
    }
  });

  it('the retention purge keeps a relayed row until its events are confirmed', async () => {
    const id = `purge-events-${randomUUID()}`;
    await sql`insert into outbox (event_id, collection, document, created_at, relayed_at)
      values (${id}, 'audit_trace', '{}', now() - interval '30 days', now() - interval '8 days')`.execute(
      h.db,
    );
    await purgeRelayedOutbox(h.db, 7, new Date(), 1000, true);
    expect(await h.db.selectFrom('outbox').select('id').where('event_id', '=', id).execute()).toHaveLength(1);
    await sql`update outbox set published_at = now() where event_id = ${id}`.execute(h.db);
    await purgeRelayedOutbox(h.db, 7, new Date(), 1000, true);
    expect(await h.db.selectFrom('outbox').select('id').where('event_id', '=', id).execute()).toHaveLength(0);
  });

  it('with events off, queued events older than the retention are forgotten and younger ones kept', async () => {
    const [old, young] = [`hold.created:${randomUUID()}`, `hold.created:${randomUUID()}`];
    await sql`insert into event_queue (source_id, document, created_at)
      values (${old}, '{}', now() - interval '8 days'), (${young}, '{}', now() - interval '6 days')`.execute(
      h.db,
    );
    expect(await purgeUnpublishedEventQueue(h.db, 7, new Date(), 1)).toBeGreaterThanOrEqual(1);
    const { rows } = await sql<{ source_id: string }>`
      select source_id from event_queue where source_id in (${old}, ${young})`.execute(h.db);
    expect(rows).toEqual([{ source_id: young }]);
    await sql`delete from event_queue where source_id = ${young}`.execute(h.db);
  });

  it('readiness stays 200 while the broker is away and lists events as degraded', async () => {
    const events = publisher();
    const { app } = createWalletApp({ db: h.db, mongo: h.mongo, verifier: h.issuer.verifier, log, events });
    const ready = async () => (await app.request('/readyz')).json() as Promise<Record<string, unknown>>;
    try {
      await proxy.stop();
      await expect(events.drainOnce()).rejects.toThrow();
      const res = await app.request('/readyz');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'ready',
        checks: { postgres: true, rabbitmq: false },
        degraded: ['events'],
      });
      await proxy.start();
      await events.drainAll();
      expect(await ready()).toMatchObject({ checks: { rabbitmq: true }, degraded: [] });
    } finally {
      await proxy.start();
      await events.close();
    }
  });
});
