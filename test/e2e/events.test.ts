import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { EVENTS_EXCHANGE, eventIdOf, type DomainEvent } from '../../wallet/events/domain-event.js';
import { api, eventually, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { depositAsAdmin } from '../support/funding.js';

/**
 * Issue 13, item 2, through the whole stack: a client pays through the gateway, the transfer
 * runs as a workflow on the worker, WalletService writes its events into the outbox in the
 * money's own transactions, and its publisher sends them to RabbitMQ. A consumer bound to
 * `velora.events` (as docs/events.md tells one to bind) sees every event of the payment once
 * per `event_id` after its dedupe, and of a refused payment only its `transfer.failed`.
 */

/** The broker the stack's WalletService publishes to (.env.example, the profile may override). */
function brokerUrl(): string {
  const name = process.env.TEST_STACK_PROFILE ?? 'test';
  const profileEnv: Record<string, string> = isProfileName(name) ? { ...PROFILES[name].env } : {};
  const url = profileEnv.RABBITMQ_URL ?? envExampleDefaults().RABBITMQ_URL;
  if (!url) throw new Error('the stack publishes no events: RABBITMQ_URL is empty in .env.example');
  return url;
}

interface Transfer {
  id: string;
  status: string;
  failure_code?: string;
}

/** A consumer with its own queue bound to every routing key, read by pulling. */
async function createConsumer(channel: Channel) {
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, '#');
  const deliveries: GetMessage[] = [];
  /** Everything the queue holds now. Every profile publishes to this exchange: filter after. */
  async function drain(): Promise<GetMessage[]> {
    for (;;) {
      const m = await channel.get(queue, { noAck: true });
      if (m === false) return deliveries;
      deliveries.push(m);
    }
  }
  return { drain };
}

function body(m: GetMessage): DomainEvent {
  return JSON.parse(m.content.toString('utf8')) as DomainEvent;
}

/** The consumer's dedupe (docs/events.md): one event per `event_id`, and how often each came. */
function dedupe(deliveries: readonly GetMessage[]) {
  const events = new Map<string, { event: DomainEvent; message: GetMessage }>();
  const times = new Map<string, number>();
  for (const message of deliveries) {
    const event = body(message);
    if (!events.has(event.event_id)) events.set(event.event_id, { event, message });
    times.set(event.event_id, (times.get(event.event_id) ?? 0) + 1);
  }
  return { events, times };
}

async function pay(from: RegisteredUser, to: RegisteredUser, amount: string): Promise<Transfer> {
  const started = await api<Transfer>('POST', '/v1/transfers', {
    token: from.token,
    idempotencyKey: randomUUID(),
    headers: { prefer: 'wait=20' },
    body: { from_wallet_id: from.walletId, to_wallet_id: to.walletId, amount, currency: 'USD' },
  });
  expect([200, 201, 202]).toContain(started.status);
  const settled = await eventually(
    () => api<Transfer>('GET', `/v1/transfers/${started.body.id}`, { token: from.token }),
    (r) =>
      r.status === 200 && ['completed', 'failed', 'cancelled', 'needs_attention'].includes(r.body.status),
  );
  return settled.body;
}

describe('domain events of payments made through the gateway', () => {
  let connection: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    connection = await connect(brokerUrl());
    channel = await connection.createChannel();
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('a payment publishes each of its events once per event_id; a refused one only its transfer.failed', async () => {
    // Bound before anything happens: a topic exchange drops what no queue is bound for yet.
    const consumer = await createConsumer(channel);
    const [alice, bob] = await Promise.all([
      registerAndLogin('events-alice'),
      registerAndLogin('events-bob'),
    ]);
    await depositAsAdmin(alice.walletId, '10000', 'e2e-events');

    const paid = await pay(alice, bob, '2500');
    expect(paid.status).toBe('completed');
    // More than Alice has left (7,500): the reservation is refused, no hold is placed.
    const refused = await pay(alice, bob, '9000');
    expect(refused).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });

    const ours = (e: DomainEvent) =>
      [alice.walletId, bob.walletId].includes(String(e.data.wallet_id)) ||
      [paid.id, refused.id].includes(String(e.data.transfer_id));
    // Nine facts: two wallets created, the deposit, and the payment's hold, movements and outcome,
    // then the refusal. Arrival order is not the contract; the publisher sends within a second.
    const received = await eventually(
      async () => dedupe((await consumer.drain()).filter((m) => ours(body(m)))),
      (d) => d.events.size >= 9,
      60_000,
    );
    const events = [...received.events.values()].map((r) => r.event);
    const byType = (type: string) => events.filter((e) => e.type === type);

    expect(events.map((e) => e.type).sort()).toEqual(
      [
        'hold.captured',
        'hold.created',
        'transfer.completed',
        'transfer.failed',
        'wallet.created',
        'wallet.created',
        'wallet.credited',
        'wallet.credited',
        'wallet.debited',
      ].sort(),
    );
    // Every id is the documented name-based UUID of its source, so a consumer can recompute it.
    expect(new Set(byType('wallet.created').map((e) => e.event_id))).toEqual(
      new Set([eventIdOf('wallet.created', alice.walletId), eventIdOf('wallet.created', bob.walletId)]),
    );
    for (const e of [...byType('wallet.credited'), ...byType('wallet.debited')]) {
      expect(e.event_id).toBe(eventIdOf(e.type, String(e.data.posting_id)));
    }
    for (const e of [...byType('hold.created'), ...byType('hold.captured')]) {
      expect(e.event_id).toBe(eventIdOf(e.type, String(e.data.hold_id)));
      expect(e.data).toMatchObject({ transfer_id: paid.id, wallet_id: alice.walletId, amount: '2500' });
    }

    // The payment, as its consumer reads it: who paid whom, how much, in which transaction.
    const [completed] = byType('transfer.completed');
    expect(completed).toEqual({
      event_id: eventIdOf('transfer.completed', paid.id),
      type: 'transfer.completed',
      occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        transfer_id: paid.id,
        user_id: alice.userId,
        transaction_id: expect.any(String),
        from_wallet_id: alice.walletId,
        to_wallet_id: bob.walletId,
        currency: 'USD',
        amount: '2500',
      },
    });
    const [debited] = byType('wallet.debited');
    expect(debited!.data).toMatchObject({
      wallet_id: alice.walletId,
      transfer_id: paid.id,
      transaction_id: completed!.data.transaction_id,
      kind: 'transfer',
      amount: '2500',
      balance_after: '7500',
    });
    const credits = byType('wallet.credited');
    expect(credits.find((e) => e.data.wallet_id === bob.walletId)!.data).toMatchObject({
      transfer_id: paid.id,
      transaction_id: completed!.data.transaction_id,
      amount: '2500',
      balance_after: '2500',
    });
    expect(credits.find((e) => e.data.wallet_id === alice.walletId)!.data).toMatchObject({
      kind: 'deposit',
      amount: '10000',
    });
    expect(byType('hold.captured')[0]!.data).toMatchObject({ captured_amount: '2500' });

    // The refusal: its outcome and nothing else (no hold, no movement carries its id).
    expect(events.filter((e) => e.data.transfer_id === refused.id)).toEqual([
      {
        event_id: eventIdOf('transfer.failed', refused.id),
        type: 'transfer.failed',
        occurred_at: expect.any(String),
        data: { transfer_id: refused.id, user_id: alice.userId, failure_code: 'insufficient_funds' },
      },
    ]);

    // The message around each body is the contract too: routing key = type, message_id =
    // event_id, persistent, JSON.
    for (const { event, message } of received.events.values()) {
      expect(message.fields.routingKey).toBe(event.type);
      expect(message.properties.messageId).toBe(event.event_id);
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.contentType).toBe('application/json');
      expect(message.properties.appId).toBe('velora-wallet');
    }

    // Whatever came twice (at least once) is the same fact: the dedupe left exactly nine.
    const again = dedupe((await consumer.drain()).filter((m) => ours(body(m))));
    expect(again.events.size).toBe(9);

    await expectCleanBooks();
  });
});
