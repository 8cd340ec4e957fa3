/**
 * Stand-ins for the orchestrator's workflows, registered under the real names on a test task
 * queue. They honour the public side of the contract (input, getTransfer query, confirmOtp,
 * cancelTransfer and waitForTransfer updates, search attributes) so gateway routes can be tested
 * against a real Temporal server without the real activities.
 */
import {
  ApplicationFailure,
  condition,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  cancelTransfer,
  confirmOtp,
  getTransfer,
  WAIT_FOR_TRANSFER_STATUSES,
  waitForTransfer,
  type Transfer,
  type TransferFailureCode,
  type TransferInput,
  type TransferStatus,
} from '../../workflows/transfer-contract.js';
import {
  getReversal,
  reversalWorkflowId,
  type Reversal,
  type ReversalInput,
} from '../../workflows/reversal-contract.js';

export const STEP_UP_THRESHOLD = 100_000n;

/** Transfers whose description names a destination refusal fail the way the wallet refuses them. */
const DESTINATION_REFUSALS: Record<
  string,
  { code: TransferFailureCode; error: (walletId: string) => string }
> = {
  'destination-frozen': {
    code: 'wallet_frozen',
    error: (id) => `POST /internal/holds: wallet ${id} is frozen (status=frozen since 2026-11-30)`,
  },
  'destination-currency': {
    code: 'currency_mismatch',
    error: (id) => `POST /internal/holds: wallet ${id} holds EUR, not USD`,
  },
};
export const VALID_OTP = '123456';

export async function transferWorkflow(input: TransferInput): Promise<Transfer> {
  const transfer: Transfer = {
    id: input.transfer_id,
    status: 'pending',
    from_wallet_id: input.from_wallet_id,
    to_wallet_id: input.to_wallet_id,
    amount: input.amount,
    currency: input.currency,
    description: input.description,
    steps: [{ name: 'authorize', status: 'completed', attempts: 1 }],
    created_at: input.created_at,
  };
  let captured = false;
  const setStatus = (status: TransferStatus) => {
    transfer.status = status;
    upsertSearchAttributes([
      { key: searchAttributes.TransferStatus, value: status },
      ...(transfer.failure_code === undefined
        ? []
        : [{ key: searchAttributes.TransferFailureCode, value: transfer.failure_code }]),
    ]);
  };
  setHandler(getTransfer, () => transfer);
  setHandler(waitForTransfer, async () => {
    await condition(() => WAIT_FOR_TRANSFER_STATUSES.includes(transfer.status));
    return transfer;
  });
  setHandler(
    confirmOtp,
    ({ code }) => {
      if (code !== VALID_OTP)
        throw ApplicationFailure.nonRetryable('wrong code', 'otp_invalid', { attempts_left: 2 });
      setStatus('processing');
      return transfer;
    },
    {
      validator: (_update: { code: string }) => {
        if (transfer.status !== 'awaiting_confirmation')
          throw ApplicationFailure.nonRetryable('not waiting', 'not_awaiting_confirmation');
      },
    },
  );
  setHandler(
    cancelTransfer,
    () => {
      transfer.failure_code = 'cancelled_by_user';
      setStatus('cancelled');
      return transfer;
    },
    {
      validator: () => {
        if (captured) throw ApplicationFailure.nonRetryable('funds captured', 'cannot_cancel');
      },
    },
  );

  const refusal = DESTINATION_REFUSALS[input.description];
  if (refusal) {
    // What the real workflow records when the wallet refuses the destination: the code, and a raw
    // reason for operators that names the other wallet's state.
    transfer.steps = [
      {
        name: 'authorize',
        status: 'failed',
        attempts: 1,
        error_code: refusal.code,
        error: refusal.error(input.to_wallet_id),
      },
    ];
    transfer.failure_code = refusal.code;
    setStatus('failed');
    return finish(transfer);
  }

  if (BigInt(input.amount) >= STEP_UP_THRESHOLD) {
    setStatus('awaiting_confirmation');
    await condition(() => transfer.status !== 'awaiting_confirmation', '10 minutes');
  } else if (input.description === 'slow') {
    setStatus('processing');
    // Stays open until cancelled, so tests can see 202 and cancel a live transfer.
    await condition(() => transfer.status === 'cancelled', '1 hour');
  } else {
    setStatus('processing');
  }
  if (transfer.status === 'cancelled') return finish(transfer);
  await sleep(10);
  captured = true;
  transfer.steps.push({ name: 'capture', status: 'completed', attempts: 1 });
  setStatus('completed');
  if (input.description === 'linger') {
    // Finished but still running: cancel must now be refused (funds captured).
    await sleep('1 hour');
  }
  return finish(transfer);
}

function finish(transfer: Transfer): Transfer {
  transfer.completed_at = new Date(Date.now()).toISOString();
  return transfer;
}

export async function onboardUserWorkflow(input: { registration_id: string; currency: string }) {
  if (input.currency === 'CHF')
    throw ApplicationFailure.nonRetryable('no such currency here', 'currency_not_supported');
  return {
    user_id: uuid4(),
    wallet_id: uuid4(),
    status: 'active',
    registration: input.registration_id,
    workflow: workflowInfo().workflowId,
  };
}

export async function depositWorkflow(input: {
  wallet_id: string;
  amount: string;
  currency: string;
  reference: string;
  requested_by: string;
}) {
  if (input.reference === 'missing-wallet')
    throw ApplicationFailure.nonRetryable('no wallet', 'wallet_not_found');
  if (input.reference === 'taken-at-wallet')
    throw ApplicationFailure.nonRetryable('reference already used', 'duplicate_reference');
  return { transaction_id: uuid4(), wallet: { id: input.wallet_id, balance: { posted: input.amount } } };
}

/**
 * The reversal's stand-in: a reason `refuse:<code>` ends `failed` with that code, anything else
 * `completed` with the whole amount (the real one moves money through WalletService).
 */
export async function reversalWorkflow(input: ReversalInput & { signature: string }): Promise<Reversal> {
  const refused = /^refuse:([a-z_]+)$/.exec(input.reason)?.[1];
  const { signature: _signed, ...fields } = input;
  const view: Reversal = {
    ...fields,
    id: reversalWorkflowId(input.transfer_id, input.attempt),
    attempt: input.attempt ?? 1,
    status: refused ? 'failed' : 'completed',
    amount: '1000',
    transfer_amount: '1000',
    currency: 'USD',
    ...(refused ? { failure_code: refused } : { transaction_id: uuid4() }),
    completed_at: new Date(Date.now()).toISOString(),
  };
  setHandler(getReversal, () => view);
  return view;
}
