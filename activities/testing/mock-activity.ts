/**
 * Activities run outside a worker in tests: as attempts of one workflow (the same workflow id
 * gives the same idempotency keys, exactly like a retried activity), and the failure one threw.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { expect } from 'vitest';

/** Runs activities as attempts of the workflow `id`. */
export function workflow(id: string) {
  return {
    run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
      new MockActivityEnvironment({ workflowExecution: { workflowId: id, runId: randomUUID() } }).run(
        fn,
        ...args,
      ),
  };
}

/** The `ApplicationFailure` the promise rejects with; the test fails if it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
