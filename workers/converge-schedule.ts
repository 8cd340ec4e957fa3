import { status as grpcStatus } from '@grpc/grpc-js';
import {
  isGrpcServiceError,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ValueError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { PayloadDecryptionError } from '../lib/payload-codec.js';

/** What converging a schedule needs: the worker's client (its codec), its log, and where to count rewrites. */
export interface ScheduleDeps {
  client: Client;
  log: Logger;
  /** `orchestrator_schedule_rewrites_total` (see {@link scheduleRewritesCounter}); none in most tests. */
  rewrites?: Counter<'schedule' | 'reason'>;
}

/** What converging did: `recreated` when the server's copy could not be read with this worker's keys. */
export type ConvergeOutcome = 'created' | 'updated' | 'unchanged' | 'recreated';

/** The counter of schedules a worker had to rewrite, registered on the worker's registry. */
export function scheduleRewritesCounter(registry: Registry): Counter<'schedule' | 'reason'> {
  return new Counter({
    name: 'orchestrator_schedule_rewrites_total',
    help: 'Schedules this worker deleted and created again from their declaration (reason: unreadable = encrypted with a key it does not hold)',
    labelNames: ['schedule', 'reason'] as const,
    registers: [registry],
  });
}

/**
 * Makes a schedule on the server the declared one: creates it, or rewrites its spec, action and
 * policies when `declared` says the server's differs, keeping its paused state and notes
 * (pausing is an operator's call). Any number of workers may call this at once; they all write
 * the same declaration.
 *
 * The schedule's memo and action arguments are payloads, encrypted with the key that was current
 * when it was written. A worker holding none of the keys that can open them (the key was removed
 * after a rotation, or another deployment wrote it) cannot describe it, nor update it (an update
 * describes first, and never rewrites the memo). The schedule is owned by its declaration, so it
 * is deleted and created again with this worker's key, keeping its paused state and notes,
 * with a warning and `orchestrator_schedule_rewrites_total{reason="unreadable"}`: a key rotation
 * never stops a worker from starting.
 */
export async function convergeSchedule(
  deps: ScheduleDeps,
  options: ScheduleOptions,
  declared: (described: ScheduleDescription) => boolean,
): Promise<ConvergeOutcome> {
  return converge(deps, options, declared, { mayRecreate: true, attemptsLeft: 3 });
}

async function converge(
  deps: ScheduleDeps,
  options: ScheduleOptions,
  declared: (described: ScheduleDescription) => boolean,
  turn: { mayRecreate: boolean; attemptsLeft: number },
): Promise<ConvergeOutcome> {
  const { client, log } = deps;
  const { scheduleId } = options;
  if (await create(client, options)) {
    log.info({ scheduleId }, 'schedule created');
    return 'created';
  }
  const handle = client.schedule.getHandle(scheduleId);
  let described: ScheduleDescription;
  try {
    described = await handle.describe();
  } catch (err) {
    // Deleted between our create and describe (another worker recreating it): start over.
    if (err instanceof ScheduleNotFoundError && turn.attemptsLeft > 1) {
      return converge(deps, options, declared, { ...turn, attemptsLeft: turn.attemptsLeft - 1 });
    }
    if (!unreadable(err)) throw err;
    if (turn.mayRecreate) return recreate(deps, options, declared, err);
    // Another worker created it between our delete and create, and we cannot read its copy
    // either: a deployment with other keys. Starting matters more; our next start converges.
    log.warn({ scheduleId, err: errorText(err) }, 'schedule left as another worker created it');
    return 'recreated';
  }
  if (declared(described)) return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: { ...previous.policies, ...options.policies },
  }));
  log.info({ scheduleId, taskQueue: options.action.taskQueue }, 'schedule updated to its declaration');
  return 'updated';
}

/** Creates the schedule; false when one with its id exists already. */
async function create(client: Client, options: ScheduleOptions): Promise<boolean> {
  try {
    await client.schedule.create(options);
    return true;
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return false;
    throw err;
  }
}

/**
 * A payload of the description could not be decoded: our codec holds no key for it
 * (PayloadDecryptionError), or this client has no codec and met an encrypted payload
 * (ValueError 'Unknown encoding: binary/encrypted'). Anything else (the server unreachable, a
 * permission) is not a reason to delete a schedule and is thrown on.
 */
function unreadable(err: unknown): boolean {
  return err instanceof PayloadDecryptionError || err instanceof ValueError;
}

async function recreate(
  deps: ScheduleDeps,
  options: ScheduleOptions,
  declared: (described: ScheduleDescription) => boolean,
  cause: unknown,
): Promise<ConvergeOutcome> {
  const { client, log } = deps;
  const { scheduleId } = options;
  // The undecoded description still says whether an operator paused it, and why: the state is
  // not a payload. One gone meanwhile (another worker is recreating it) has no state to keep.
  const raw = await client.workflowService
    .describeSchedule({ namespace: client.options.namespace, scheduleId })
    .catch((err: unknown) => {
      if (isGrpcServiceError(err) && err.code === grpcStatus.NOT_FOUND) return undefined;
      throw err;
    });
  const paused = raw?.schedule?.state?.paused === true;
  const note = raw?.schedule?.state?.notes || undefined;
  await client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
  const created = await create(client, { ...options, state: { ...options.state, paused, note } });
  log.warn(
    { scheduleId, err: errorText(cause), paused },
    'schedule unreadable with this worker\'s payload keys; created again from its declaration (docs/runbook.md, "Payload keys and their rotation")',
  );
  deps.rewrites?.inc({ schedule: scheduleId, reason: 'unreadable' });
  // Several workers may be deleting and creating it at once: a few rounds until one copy stands.
  if (!created) await converge(deps, options, declared, { mayRecreate: false, attemptsLeft: 3 });
  return 'recreated';
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
