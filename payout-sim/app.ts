/**
 * The payout provider simulator's HTTP API: what the orchestrator calls (`/v1/payouts`), and the
 * admin endpoint through which tests make it misbehave (`/admin/faults`). Both need the API key.
 * Accepting a payout schedules its result; the result goes to the webhook (webhook-delivery.ts)
 * as the fault rules say.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { amountSchema, currencySchema } from '../lib/money.js';
import type { Logger } from '../lib/logger.js';
import { ProblemError } from '../lib/problem.js';
import { createServiceApp } from '../lib/service-app.js';
import type { PayoutSimConfig } from './config.js';
import { createPayoutBook, FAULTS, type Payout, type PayoutBook } from './payout-book.js';
import { deliver, payoutEvent } from './webhook-delivery.js';

const REFERENCE = /^[\x21-\x7E]{1,128}$/;

const payoutBody = z.object({
  reference: z.string().regex(REFERENCE, '1 to 128 visible ASCII characters'),
  amount: amountSchema.transform((a) => a.toString()),
  currency: currencySchema,
  destination: z.object({
    account_holder: z.string().min(1).max(140),
    iban: z.string().regex(/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/, 'an IBAN without spaces'),
  }),
});

const faultBody = z.object({
  fault: z.enum(FAULTS),
  reference: z.string().regex(REFERENCE).optional(),
  delay_ms: z.number().int().min(0).max(86_400_000).optional(),
  times: z.number().int().min(1).max(1000).optional(),
});

/** What the provider answers about a payout (the IBAN is never echoed whole). */
function view(p: Payout) {
  return {
    reference: p.reference,
    provider_payout_id: p.provider_payout_id,
    status: p.status,
    amount: p.amount,
    currency: p.currency,
    destination: { account_holder: p.destination.account_holder, iban_last4: p.destination.iban.slice(-4) },
    ...(p.reason === undefined ? {} : { reason: p.reason }),
    accepted_at: p.accepted_at,
    ...(p.decided_at === undefined ? {} : { decided_at: p.decided_at }),
  };
}

export interface PayoutSimDeps {
  config: PayoutSimConfig;
  log: Logger;
  book?: PayoutBook;
  /** Decides a payout's fate when no fault forces one (tests pass a fixed answer). */
  random?: () => number;
}

export function createPayoutSimApp(deps: PayoutSimDeps) {
  const { config, log } = deps;
  const book = deps.book ?? createPayoutBook(config.PAYOUT_SIM_STATE_FILE);
  const random = deps.random ?? Math.random;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const delivery = {
    url: config.PAYOUT_SIM_WEBHOOK_URL,
    secret: config.PAYOUT_WEBHOOK_SECRET,
    attempts: config.PAYOUT_SIM_WEBHOOK_ATTEMPTS,
    firstRetryMs: config.PAYOUT_SIM_WEBHOOK_FIRST_RETRY_MS,
    log,
  };

  /** Decides the payout after the configured delay and sends its result as the faults say. */
  function schedule(reference: string): void {
    later(config.PAYOUT_SIM_SETTLE_DELAY_MS, () => {
      const forced = book.fault('reject', reference)
        ? 'rejected'
        : book.fault('settle', reference)
          ? 'settled'
          : undefined;
      const status = forced ?? (random() < config.PAYOUT_SIM_REJECT_RATIO ? 'rejected' : 'settled');
      const payout = book.decide(
        reference,
        status,
        status === 'rejected' ? 'beneficiary_account_closed' : undefined,
      );
      log.info({ reference, status }, 'payout decided');
      report(payout);
    });
  }

  /** Sends a decided payout's result when the faults say (`late`: that long after the decision). */
  function report(payout: Payout): void {
    if (book.fault('no_result', payout.reference)) return;
    const event = payoutEvent(payout);
    const send = () =>
      void deliver(event, delivery).then((attempts) => {
        if (attempts > 0) book.reported(payout.reference);
      });
    const late = book.fault('late', payout.reference);
    const due = Date.parse(payout.decided_at ?? payout.accepted_at) + (late?.delay_ms ?? 0);
    later(Math.max(0, due - Date.now()), () => {
      send();
      if (book.fault('duplicate', payout.reference)) later(200, send);
    });
  }

  // A restarted simulator goes on where the last one stopped: a payout accepted but not decided
  // is decided, a result never acknowledged is sent (the same event id: a repeat at worst).
  for (const payout of book.list()) {
    if (payout.status === 'pending') schedule(payout.reference);
    else if (payout.reported_at === undefined) report(payout);
  }

  const { app, registry } = createServiceApp({
    service: 'payout-sim',
    log,
    readiness: () => Promise.resolve({ book: true }),
  });
  const key = Buffer.from(config.PAYOUT_PROVIDER_API_KEY);
  const apiKey: MiddlewareHandler = async (c, next) => {
    const given = Buffer.from((c.req.header('authorization') ?? '').replace(/^Bearer /, ''));
    if (given.length !== key.length || !timingSafeEqual(given, key))
      throw new ProblemError(401, 'unauthorized', 'a valid API key is required');
    await next();
  };
  const json = async <T extends z.ZodType>(body: unknown, schema: T): Promise<z.infer<T>> => {
    const parsed = schema.safeParse(await body);
    if (!parsed.success)
      throw new ProblemError(
        422,
        'validation_failed',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    return parsed.data;
  };

  app.post('/v1/payouts', apiKey, async (c) => {
    const body = await json(
      c.req.json().catch(() => undefined),
      payoutBody,
    );
    if (book.fault('submit_5xx', body.reference)) {
      throw new ProblemError(503, 'provider_unavailable', 'the payout rail is unavailable; retry later');
    }
    const accepted = book.accept(body);
    if (accepted === 'conflict') {
      throw new ProblemError(409, 'payout_reference_conflict', 'this reference was used for another payout');
    }
    if (accepted.created) {
      log.info(
        { reference: body.reference, amount: body.amount, currency: body.currency },
        'payout accepted',
      );
      schedule(body.reference);
    }
    const slow = book.fault('submit_timeout', body.reference);
    if (slow) await new Promise((r) => setTimeout(r, slow.delay_ms ?? 20_000));
    return c.json(view(accepted.payout), accepted.created ? 201 : 200);
  });

  app.get('/v1/payouts/:reference', apiKey, (c) => {
    const payout = book.get(c.req.param('reference'));
    if (!payout) throw new ProblemError(404, 'payout_not_found', 'no payout with this reference');
    return c.json(view(payout), 200);
  });

  app.get('/admin/faults', apiKey, (c) => c.json({ items: book.faults() }, 200));
  app.post('/admin/faults', apiKey, async (c) => {
    const rule = await json(
      c.req.json().catch(() => undefined),
      faultBody,
    );
    book.addFault(rule);
    return c.json(rule, 201);
  });
  app.delete('/admin/faults', apiKey, (c) => {
    book.clearFaults();
    return c.body(null, 204);
  });

  return {
    app,
    registry,
    book,
    /** Stops pending decisions and deliveries (tests, shutdown). */
    close: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
