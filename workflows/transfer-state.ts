/**
 * What a running transfer knows about itself and how it shows it: the steps, the status, the
 * `Transfer` view the query and updates answer, the Web UI's current details, the search
 * attribute of each status change, and the records (auth log, audit trace) its last wallet call
 * writes. The workflow (transfer-workflow.ts) decides; this module only keeps and shows. Its
 * step book (`StepBook`) is the withdrawal's too: both keep and run their steps the same way.
 */
import {
  isCancellation,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { failureAttempt, failureMessage, failureType } from './failures.js';
import {
  TERMINAL_STATUSES,
  transferStatusAttributes,
  type Transfer,
  type TransferFailureCode,
  type TransferInput,
  type TransferStatus,
  type TransferStep,
} from './transfer-contract.js';

/** Step names in the order they run; the `Transfer.steps` view lists all of them. */
const TRANSFER_STEPS = ['reserve', 'step_up', 'capture'] as const;
export type StepName = (typeof TRANSFER_STEPS)[number];

/** A step as the workflow keeps it: the public fields, and its times for the audit trace. */
export interface StepRecord extends TransferStep {
  started_ms?: number;
  ended_ms?: number;
}

/**
 * The steps of a money movement (a transfer's, a withdrawal's) as its workflow keeps them, and the
 * one way a forward step runs. Every change calls `onChange` (the Web UI's current details);
 * nothing here issues a command, so what it records may change without a patch.
 */
export class StepBook<Name extends string> {
  readonly steps: ReadonlyMap<Name, StepRecord>;

  /**
   * @param errorCode the `error_code` a failed step shows for its error
   * @param onChange called after every change, with the book already changed
   */
  constructor(
    names: readonly Name[],
    private readonly errorCode: (err: unknown) => string,
    private readonly onChange: () => void,
  ) {
    this.steps = new Map(names.map((name) => [name, { name, status: 'pending', attempts: 0 }]));
  }

  step(name: Name): StepRecord {
    return this.steps.get(name)!;
  }

  /** Changes a step; `error: undefined` / `error_code: undefined` remove the field. */
  update(name: Name, patch: Partial<StepRecord>): void {
    const step = this.step(name);
    Object.assign(step, patch);
    if (patch.error === undefined && 'error' in patch) delete step.error;
    if (patch.error_code === undefined && 'error_code' in patch) delete step.error_code;
    this.onChange();
  }

  /** Runs one forward step: marks it running, records attempts, result or error. */
  async run<T extends { attempt: number }>(name: Name, fn: () => Promise<T>): Promise<T> {
    this.update(name, { status: 'running', started_ms: Date.now() });
    try {
      const result = await fn();
      this.update(name, {
        status: 'completed',
        attempts: result.attempt,
        ended_ms: Date.now(),
        error: undefined,
        error_code: undefined,
      });
      return result;
    } catch (err) {
      const attempts = failureAttempt(err) ?? Math.max(1, this.step(name).attempts);
      this.update(name, {
        status: 'failed',
        attempts,
        ended_ms: Date.now(),
        error_code: this.errorCode(err),
        error: failureMessage(err),
      });
      throw err;
    }
  }

  /** A step interrupted by what stopped the forward path (e.g. the OTP wait) must not stay "running". */
  failRunning(code: string): void {
    for (const [name, s] of this.steps) {
      if (s.status === 'running') {
        this.update(name, { status: 'failed', ended_ms: Date.now(), error_code: code, error: code });
      }
    }
  }
}

export type Outcome = 'completed' | 'failed' | 'cancelled';
export type Records = activities.TransferRecords;

/** Audit entries keep the operator's reason, bounded like the wallet's schema wants. */
const MAX_AUDIT_ERROR_CHARS = 1000;

/** The stable code of a step's failure: the domain code, or what kind of outage it was. */
export function stepErrorCode(err: unknown): string {
  const type = failureType(err);
  if (type !== undefined) return type;
  if (isCancellation(err)) return 'cancelled';
  return failureMessage(err).startsWith('timed out') ? 'upstream_unavailable' : 'internal_error';
}

export class TransferState {
  private readonly book = new StepBook(TRANSFER_STEPS, stepErrorCode, () => this.showDetails());
  readonly steps = this.book.steps;
  // The start options set the search attributes (status `pending`) and the memo: nothing to upsert yet.
  status: TransferStatus = 'pending';
  failureCode: TransferFailureCode | undefined;
  completedAt: string | undefined;
  /** Why the transfer waits in `needs_attention` (shown in the current details). */
  attentionReason: string | undefined;
  /** Set once capture is scheduled: from then on the transfer can no longer be cancelled. */
  pastPivot = false;
  cancelledByUser = false;
  stepUpRequired = false;

  constructor(readonly input: TransferInput) {}

  step(name: StepName): StepRecord {
    return this.book.step(name);
  }

  /** The `Transfer` of the public API, as it stands. */
  view(): Transfer {
    const { input } = this;
    return {
      id: input.transfer_id,
      status: this.status,
      from_wallet_id: input.from_wallet_id,
      to_wallet_id: input.to_wallet_id,
      amount: input.amount,
      currency: input.currency,
      description: input.description,
      steps: [...this.steps.values()].map(({ name, status, attempts, error_code, error }) => ({
        name,
        status,
        attempts,
        ...(error_code === undefined ? {} : { error_code }),
        ...(error === undefined ? {} : { error }),
      })),
      ...(this.failureCode === undefined ? {} : { failure_code: this.failureCode }),
      created_at: input.created_at,
      ...(this.completedAt === undefined ? {} : { completed_at: this.completedAt }),
    };
  }

  /** Terminal, or waiting for an operator. */
  settled(): boolean {
    return TERMINAL_STATUSES.includes(this.status) || this.status === 'needs_attention';
  }

  /**
   * What an update answer waits for: the outcome known (failure code set, the release may still
   * be running) or settled, not the release finished.
   */
  decided(): boolean {
    return this.failureCode !== undefined || this.settled();
  }

  /**
   * Every status change is visible: ONE search-attribute upsert of the status (with the failure
   * code when the status is terminal; the other attributes were set at start and never change),
   * the current details, the query. The upsert's contents are not compared on replay, only that
   * it is one (sdk-core's UpsertSearchAttributesMachine), so what it carries may change unpatched.
   */
  setStatus(next: TransferStatus): void {
    this.status = next;
    upsertSearchAttributes(
      transferStatusAttributes(next, TERMINAL_STATUSES.includes(next) ? this.failureCode : undefined),
    );
    this.showDetails();
  }

  /** The Web UI's current details: status, steps, failure and what an operator can do. */
  showDetails(): void {
    const { input, attentionReason } = this;
    const lines = [
      `**${this.status}** — ${input.amount} ${input.currency} \`${input.from_wallet_id}\` → \`${input.to_wallet_id}\``,
      ...[...this.steps.values()].map(
        (s) =>
          `- ${s.name}: ${s.status}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}${s.error ? ` — ${s.error}` : ''}`,
      ),
    ];
    if (this.failureCode) lines.push(`failure: \`${this.failureCode}\``);
    if (attentionReason)
      lines.push(
        `needs attention: ${attentionReason} — signal \`retryCompensation\` after fixing` +
          (attentionReason.includes('hold_already_captured') ? ', or update `resolveAsCompleted`' : ''),
      );
    setCurrentDetails(lines.join('\n'));
  }

  /** {@link StepBook.update} */
  updateStep(name: StepName, patch: Partial<StepRecord>): void {
    this.book.update(name, patch);
  }

  /** {@link StepBook.run} */
  runStep<T extends { attempt: number }>(name: StepName, fn: () => Promise<T>): Promise<T> {
    return this.book.run(name, fn);
  }

  /** {@link StepBook.failRunning} */
  failRunningSteps(code: TransferFailureCode): void {
    this.book.failRunning(code);
  }

  /**
   * The auth log and audit trace of the transfer as it stands (or, for the one-call reserve, as
   * it will stand: `stepList` and `stepUp` given): a pure function of the input and the workflow's
   * state, so a retried capture or release sends the very same body.
   */
  records(
    outcome: Outcome,
    code?: TransferFailureCode,
    stepList: readonly StepRecord[] = [...this.steps.values()],
    stepUp = this.stepUpRequired,
  ): Records {
    const { input } = this;
    return {
      auth_log: {
        transfer_id: input.transfer_id,
        workflow_id: workflowInfo().workflowId,
        user_id: input.initiated_by.user_id,
        client_id: input.initiated_by.client_id,
        token_jti: input.initiated_by.token_jti,
        ip: input.initiated_by.ip,
        user_agent: input.initiated_by.user_agent,
        step_up: stepUp,
        outcome,
        ...(code === undefined ? {} : { failure_code: code }),
      },
      audit: stepList
        .filter((s) => s.status !== 'pending')
        .map((s) => ({
          step: s.name,
          status: s.status,
          attempt: s.attempts,
          duration_ms: s.started_ms !== undefined && s.ended_ms !== undefined ? s.ended_ms - s.started_ms : 0,
          ...(s.error === undefined ? {} : { error: s.error.slice(0, MAX_AUDIT_ERROR_CHARS) }),
        })),
    };
  }

  /**
   * What a capture after this reserve would record: the reserve completed (its attempt and time
   * are filled in by the activity), the step-up skipped, no step-up in the auth log.
   */
  capturedAtReserveRecords(): Records {
    const stepList: StepRecord[] = [
      { name: 'reserve', status: 'completed', attempts: 1 },
      { name: 'step_up', status: 'skipped', attempts: 0 },
    ];
    return this.records('completed', undefined, stepList, false);
  }
}
