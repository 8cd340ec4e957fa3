import { Counter, Gauge, type Registry } from 'prom-client';
import type { RateBucket } from './rate-limit.js';
import type { Upstream } from './upstream.js';

export interface GatewayMetrics {
  rateLimited(bucket: RateBucket): void;
}

/**
 * Gateway-specific series next to the skeleton's request histogram: how often each budget
 * refuses, and whether each upstream's circuit is open right now.
 */
export function createGatewayMetrics(registry: Registry, upstreams: Upstream[]): GatewayMetrics {
  const limited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused with 429, by budget',
    labelNames: ['bucket'],
    registers: [registry],
  });
  new Gauge({
    name: 'gateway_upstream_circuit_open',
    help: '1 while the circuit breaker of an upstream is open',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      for (const u of upstreams) this.set({ upstream: u.name }, u.isAvailable() ? 0 : 1);
    },
  });
  return { rateLimited: (bucket) => limited.inc({ bucket }) };
}
