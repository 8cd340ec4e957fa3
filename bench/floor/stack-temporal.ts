/**
 * How the dev stack's own processes talk to Temporal — mutual TLS and the payload codec, read
 * from the same configuration the stack gives its worker — so the floor pays what the real
 * worker and gateway pay (payload encryption included) and nothing else.
 */
import type { TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromConfig } from '../../lib/payload-codec.js';
import { temporalTlsFromConfig } from '../../lib/temporal-tls.js';
import { benchProfile } from '../stack-control.js';
import { stackEnv } from '../../scripts/stack/services.js';
import { loadWorkerConfig } from '../../workers/config.js';

export interface StackTemporal {
  address: string;
  namespace: string;
  tls: TLSConfig | undefined;
  dataConverter: DataConverter | undefined;
}

export function stackTemporal(): StackTemporal {
  // The MongoDB URL is irrelevant here; everything else is what `scripts/velora up` passes.
  const config = loadWorkerConfig(stackEnv(benchProfile(), 'mongodb://127.0.0.1:27017/'));
  return {
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    tls: temporalTlsFromConfig(config),
    dataConverter: dataConverterFromConfig(config),
  };
}
