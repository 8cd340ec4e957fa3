import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../stack/paths.js';

/**
 * The trace path of docker-compose.yml, end to end on paper (no Docker on this machine kind):
 * every service exports to the collector's OTLP/HTTP receiver, the collector's traces pipeline
 * forwards to Jaeger's OTLP/gRPC port, Prometheus scrapes the collector's own metrics where it
 * serves them. tools/deploy-check validates the compose file itself (schema, pins, restarts).
 */
interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { disable?: boolean; test?: string[] };
}
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const collector = compose.services['otel-collector']!;
const mounted = collector.volumes!.map((v) => v.split(':')).find(([, target]) => target!.endsWith('.yaml'))!;
const collectorConfig = parse(readFileSync(path.join(ROOT, mounted[0]!), 'utf8')) as {
  receivers: { otlp: { protocols: { http: { endpoint: string } } } };
  exporters: Record<string, { endpoint: string }>;
  service: {
    pipelines: { traces: { receivers: string[]; exporters: string[] } };
    telemetry: { metrics: { readers: { pull: { exporter: { prometheus: { port: number } } } }[] } };
  };
};
const prometheus = parse(
  readFileSync(path.join(ROOT, 'deploy/prometheus/compose-prometheus.yml'), 'utf8'),
) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };

const port = (hostPort: string) => hostPort.split(':').at(-1);

describe('docker-compose.yml traces', () => {
  it('sends every Velora service’s spans to the collector’s OTLP/HTTP receiver', () => {
    const receiverPort = port(collectorConfig.receivers.otlp.protocols.http.endpoint);
    for (const name of ['auth', 'wallet', 'worker', 'gateway']) {
      const endpoint = new URL(compose.services[name]!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT!);
      expect(`${endpoint.hostname}:${endpoint.port}`, name).toBe(`otel-collector:${receiverPort}`);
    }
    expect(collector.image).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
    expect(collector.ports, 'the collector stays on the compose network').toBeUndefined();
  });

  it('forwards the traces pipeline to Jaeger’s OTLP port, and Jaeger’s UI is on loopback only', () => {
    const { receivers, exporters } = collectorConfig.service.pipelines.traces;
    expect(receivers).toEqual(['otlp']);
    expect(exporters.map((e) => collectorConfig.exporters[e]!.endpoint)).toEqual(['jaeger:4317']);
    const jaeger = compose.services.jaeger!;
    expect(jaeger.image).toMatch(/^jaegertracing\/jaeger:\d+\.\d+\.\d+$/);
    expect(jaeger.ports).toEqual(['127.0.0.1:16686:16686']);
    expect(jaeger.healthcheck?.test?.join(' ')).toContain('http://127.0.0.1:16686/');
  });

  it('has Prometheus scrape the collector where it serves its own metrics', () => {
    const metricsPort = collectorConfig.service.telemetry.metrics.readers[0]!.pull.exporter.prometheus.port;
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'otel-collector');
    expect(job?.static_configs.flatMap((c) => c.targets)).toEqual([`otel-collector:${metricsPort}`]);
  });
});
