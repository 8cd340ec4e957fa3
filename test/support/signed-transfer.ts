/**
 * A transfer started on the e2e stack's Temporal the way the gateway starts one — same transfer
 * id, signed input, start options and memo — but with the input's test knobs (`wallet_round_ms`,
 * `attention_retry_ms`, `otp_timeout_ms`) that the public API does not take. The stack's
 * `WORKFLOW_INPUT_KEY` signs it (else the reserve refuses it, `not_authorized`), and its
 * `PAYLOAD_CODEC_KEYS` encrypt it as the gateway's client does, so the gateway and the Web UI
 * read it like any other transfer.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { decodeJwt } from 'jose';
import { deriveId, requestHash } from '../../gateway/temporal/idempotency.js';
import { dataConverterFromConfig } from '../../lib/payload-codec.js';
import { signWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import { stackEnv } from '../../scripts/stack/services.js';
import { transferStartOptions, type TransferInput } from '../../workflows/transfer-contract.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import type { RegisteredUser } from './api-client.js';
import { requiredEnv } from './test-env.js';

/** The input fields a test may set that the gateway never does. */
export type TransferTestKnobs = Pick<
  TransferInput,
  'otp_timeout_ms' | 'attention_retry_ms' | 'wallet_round_ms'
>;

/** The environment the e2e stack gave its services (the same derivation `stackUp` used). */
function servicesEnv(): Record<string, string> {
  const profileName = requiredEnv('TEST_STACK_PROFILE');
  if (!isProfileName(profileName)) throw new Error(`TEST_STACK_PROFILE: unknown profile ${profileName}`);
  return stackEnv(PROFILES[profileName], requiredEnv('TEST_STACK_MONGO_URL'));
}

/** A Temporal client of the e2e stack that encrypts payloads with the stack's keys. Close its connection. */
export async function stackTemporalClient(): Promise<Client> {
  const connection = await Connection.connect({ address: requiredEnv('TEST_STACK_TEMPORAL_ADDRESS') });
  return new Client({
    connection,
    dataConverter: dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: servicesEnv().PAYLOAD_CODEC_KEYS! }),
  });
}

/**
 * Starts `from` → `to` for `amount` USD minor units with `knobs`, as if `from` had sent
 * `POST /v1/transfers` (the initiator is read from `from`'s access token). Returns the transfer id.
 */
export async function startSignedTransfer(
  temporal: Client,
  from: RegisteredUser,
  to: RegisteredUser,
  amount: string,
  description: string,
  knobs: TransferTestKnobs,
): Promise<string> {
  const claims = decodeJwt(from.token);
  const request = {
    from_wallet_id: from.walletId,
    to_wallet_id: to.walletId,
    amount,
    currency: 'USD',
    description,
  };
  const createdAt = new Date().toISOString();
  const input: TransferInput = signWorkflowInput(
    {
      transfer_id: deriveId('transfer', from.userId, randomUUID()),
      ...request,
      initiated_by: {
        user_id: from.userId,
        client_id: typeof claims.client_id === 'string' ? claims.client_id : '',
        token_jti: claims.jti ?? '',
        ip: '127.0.0.1',
        user_agent: 'velora-e2e',
      },
      request_hash: requestHash(request),
      created_at: createdAt,
      ...knobs,
    },
    workflowInputKey(servicesEnv().WORKFLOW_INPUT_KEY!),
  );
  const options = transferStartOptions(input);
  // The gateway's memo: the contract's, plus `created_at` (a list reads its position from it).
  await temporal.workflow.start(transferWorkflow, {
    ...options,
    memo: { ...options.memo, created_at: createdAt },
  });
  return input.transfer_id;
}
