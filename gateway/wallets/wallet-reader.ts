import { isUuid } from '../../lib/uuid.js';
import type { Wallet } from '../../wallet/wallet-api.js';
import { unwrap } from '../http/forward.js';
import type { Upstream } from '../http/upstream.js';

/**
 * Reads one wallet by id: the wallet, or undefined when WalletService has no user wallet by that
 * id. `headers` are the request's propagation headers (request id, traceparent).
 */
export type WalletReader = (walletId: string, headers: Record<string, string>) => Promise<Wallet | undefined>;

export interface WalletReaderOptions {
  /** Most ids in one call; WalletService refuses more (MAX_BATCH_IDS of wallet/wallets/wallets.routes.ts). */
  maxBatch?: number;
}

interface Waiter {
  resolve: (wallet: Wallet | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * The gateway's wallet reads, batched (DataLoader-style): the reads that arrive in the same turn
 * of the event loop, or while the previous batch is in flight, go to WalletService as one
 * `GET /internal/wallets?ids=a,b,…` (one SQL statement there). At low load a read finds nothing
 * in flight and leaves at the end of its turn, alone, so it waits for no timer; under load the
 * batches grow with the round trip, and the HTTP exchange, the only part of a read that costs
 * both services more than the rest of the request (docs/gateway.md, "Cost of a wallet read"),
 * is paid once per batch instead of once per read.
 *
 * Each caller gets its own answer: the wallet with its id, or undefined (unknown ids, system
 * accounts, ids that are not UUIDs, which are answered without asking). Access checks stay with
 * the caller (wallet-access.ts): a batch mixes owners, and nothing here compares them. A batch
 * that fails (an outage, a 5xx) fails every read in it the same way a single read would have.
 * The call carries the first waiting read's request id and traceparent.
 */
export function createWalletReader(wallet: Upstream, options: WalletReaderOptions = {}): WalletReader {
  const maxBatch = options.maxBatch ?? 100;
  let waiting = new Map<string, Waiter[]>();
  let headers: Record<string, string> | undefined;
  let inFlight = false;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || inFlight || waiting.size === 0) return;
    scheduled = true;
    // After the current turn's I/O callbacks, so the reads parsed in the same turn go together.
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    if (waiting.size === 0) return;
    const batch = waiting;
    const batchHeaders = headers ?? {};
    waiting = new Map();
    headers = undefined;
    inFlight = true;
    const calls: Promise<void>[] = [];
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += maxBatch)
      calls.push(send(ids.slice(i, i + maxBatch), batch, batchHeaders));
    void Promise.all(calls).finally(() => {
      inFlight = false;
      schedule();
    });
  }

  async function send(ids: string[], batch: Map<string, Waiter[]>, batchHeaders: Record<string, string>) {
    try {
      const result = await wallet.client.request<{ items: Wallet[] }>(
        'GET',
        `/internal/wallets?ids=${ids.join(',')}`,
        { headers: batchHeaders },
      );
      const found = new Map(unwrap(wallet.name, result).items.map((w) => [w.id, w]));
      for (const id of ids) for (const w of batch.get(id)!) w.resolve(found.get(id));
    } catch (err) {
      for (const id of ids) for (const w of batch.get(id)!) w.reject(err);
    }
  }

  return (walletId, requestHeaders) => {
    const id = walletId.toLowerCase();
    if (!isUuid(id)) return Promise.resolve(undefined);
    return new Promise<Wallet | undefined>((resolve, reject) => {
      headers ??= requestHeaders;
      const list = waiting.get(id);
      if (list) list.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      schedule();
    });
  };
}
