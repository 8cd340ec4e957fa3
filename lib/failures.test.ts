import {
  ActivityFailure,
  ApplicationFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { applicationFailureOf, causeChain, findCause } from './failures.js';

describe('the cause walker', () => {
  it('finds the activity’s ApplicationFailure under Temporal’s wrapper', () => {
    const refusal = ApplicationFailure.nonRetryable('no funds', 'insufficient_funds');
    const wrapped = new ActivityFailure(
      'failed',
      'reserveTransfer',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      undefined,
      refusal,
    );
    expect(applicationFailureOf(wrapped)).toBe(refusal);
    expect(applicationFailureOf(new Error('plain'))).toBeUndefined();
    expect(applicationFailureOf('not an error')).toBeUndefined();
  });

  it('returns the outermost match', () => {
    const inner = ApplicationFailure.nonRetryable('inner', 'inner_code');
    const outer = ApplicationFailure.create({
      message: 'outer',
      type: 'outer_code',
      cause: new Error('between', { cause: inner }),
    });
    expect(applicationFailureOf(outer)).toBe(outer);
    const timeout = new TimeoutFailure('slow', undefined, TimeoutType.START_TO_CLOSE);
    const wrapped = new ActivityFailure(
      'failed',
      'captureTransfer',
      '2',
      RetryState.TIMEOUT,
      undefined,
      timeout,
    );
    expect(findCause(wrapped, (e): e is TimeoutFailure => e instanceof TimeoutFailure)).toBe(timeout);
  });

  it('ends on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect([...causeChain(a)]).toHaveLength(8);
    expect(applicationFailureOf(a)).toBeUndefined();
  });
});
