import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Raised when the environment does not satisfy a service's schema. The message names every
 * offending variable so an operator can fix the deployment without reading code.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses `env` once with `schema` and returns a deeply frozen, typed config object.
 * Unknown variables are ignored; missing or malformed ones throw a {@link ConfigError}.
 * With `NODE_ENV=production` the {@link productionRefusals} come first: a service never starts
 * in production with a dev default secret, a dev-only switch or a missing production secret.
 */
export function parseConfig<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  if (env.NODE_ENV === 'production') {
    const refusals = productionRefusals(schema, env);
    if (refusals.length > 0) {
      throw new ConfigError(
        refusals.map((line) => `${service}: refusing to start with NODE_ENV=production: ${line}`).join('\n'),
      );
    }
  }
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ConfigError(`${service}: invalid configuration\n${lines.join('\n')}`);
  }
  return deepFreeze(result.data);
}

/** How production treats a variable: a secret may not reuse a dev default; a required one must be set. */
interface ProductionRule {
  secret: boolean;
  requiredInProduction: boolean;
}

/** Schema fields with a production rule, registered by {@link secret} and {@link requiredInProduction}. */
const productionRules = z.registry<ProductionRule>();

/**
 * Marks a field as a secret: in production it must be set (unless `requiredInProduction` is
 * false) and may not equal or contain a secret documented in .env.example. Mark the innermost
 * schema (before `.optional()`): the rule is found through optional/default/pipe wrappers.
 */
export function secret<T extends z.ZodType>(schema: T, options: { requiredInProduction?: boolean } = {}): T {
  productionRules.add(schema, { secret: true, requiredInProduction: options.requiredInProduction ?? true });
  return schema;
}

/** Marks a non-secret field whose local default is wrong in production (a dev URL, TLS off). */
export function requiredInProduction<T extends z.ZodType>(schema: T): T {
  productionRules.add(schema, { secret: false, requiredInProduction: true });
  return schema;
}

/** Values only the local stack may use, whichever service reads them. */
const DEV_ONLY_VALUES: Record<string, string[]> = {
  // dev shows codes to anyone at /dev/outbox; log delivers nothing: production sends email.
  OTP_DELIVERY: ['dev', 'log'],
  // Codes in the clear on the wire: only to the local stack's catcher.
  SMTP_TLS: ['none'],
};

/**
 * Why `env` may not run in production, one line per variable (empty when it may): a secret that
 * is missing or reuses a dev default from .env.example, a required production setting left to
 * its local default, or a dev-only switch such as `OTP_DELIVERY=dev` or `log`.
 */
export function productionRefusals(schema: z.ZodObject, env: Record<string, string | undefined>): string[] {
  const refusals: string[] = [];
  for (const [name, allowed] of Object.entries(DEV_ONLY_VALUES)) {
    const value = env[name];
    if (value !== undefined && allowed.includes(value)) {
      refusals.push(`${name}=${value} is for the local stack only`);
    }
  }
  const rules = Object.entries(schema.shape).flatMap(([name, field]) => {
    const rule = ruleOf(field as z.ZodType);
    return rule ? [{ name, rule }] : [];
  });
  const devSecrets = rules.some(({ rule }) => rule.secret) ? devSecretTokens() : undefined;
  for (const { name, rule } of rules) {
    const value = env[name];
    if (value === undefined || value === '') {
      if (rule.requiredInProduction) refusals.push(`${name} is required`);
      continue;
    }
    if (devSecrets === undefined) continue;
    if (devSecrets instanceof Error) {
      refusals.push(`${name} cannot be checked against the dev defaults: ${devSecrets.message}`);
    } else if (secretTokens(value).some((token) => devSecrets.has(token))) {
      refusals.push(`${name} equals a dev default documented in .env.example`);
    }
  }
  return refusals;
}

/** The production rule of a field, looking through optional/default/pipe/transform wrappers. */
function ruleOf(field: z.ZodType, depth = 0): ProductionRule | undefined {
  const rule = productionRules.get(field);
  if (rule || depth > 10) return rule;
  const def = field._zod.def as { innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType };
  for (const inner of [def.innerType, def.in, def.out]) {
    const found = inner && ruleOf(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The parts of a secret value compared with the dev defaults: the whole value and, for keyrings
 * like `kid:base64,kid:base64`, each key. Short parts (key ids) are not secret material.
 */
function secretTokens(value: string): string[] {
  return [value, ...value.split(/[,:]/)].map((t) => t.trim()).filter((t) => t.length >= 12);
}

/**
 * Every secret value .env.example documents (variables whose name says secret, password, token,
 * pepper or key), read once. In the image .env.example sits next to package.json; without it
 * production refuses to start rather than skip the check.
 */
let devSecretCache: Set<string> | Error | undefined;
function devSecretTokens(): Set<string> | Error {
  if (devSecretCache) return devSecretCache;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = path.dirname(dir)) {
    let text: string;
    try {
      text = readFileSync(path.join(dir, '.env.example'), 'utf8');
    } catch {
      continue;
    }
    const tokens = new Set<string>();
    for (const [name, value] of Object.entries(parseEnvFile(text))) {
      if (/(SECRET|PASSWORD|PEPPER|TOKEN|_KEY|_KEYS)$/.test(name))
        secretTokens(value).forEach((t) => tokens.add(t));
    }
    return (devSecretCache = tokens);
  }
  return (devSecretCache = new Error('.env.example (the list of dev defaults) was not found'));
}

/**
 * `KEY=value  # comment` lines of an env file. Values may contain single spaces (scope lists);
 * a comment starts at whitespace followed by `#`.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Z0-9_]+)=(.*?)(?:\s+#.*)?$/.exec(line);
    if (match?.[1]) out[match[1]] = (match[2] ?? '').trim();
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Reusable field schemas so every service reads the environment the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  url: (fallback?: string) => (fallback === undefined ? z.url() : z.url().default(fallback)),
  string: (fallback?: string) =>
    fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback),
  /** A secret: required, at least `min` characters, never a dev default in production. */
  secret: (min = 16) => secret(z.string().min(min, `must be at least ${min} characters`)),
  int: (fallback: number) => z.coerce.number().int().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  /** Optional; an empty value (`KEY=` in .env.example) counts as unset. */
  optional: <T extends z.ZodType>(schema: T) =>
    z.preprocess((v) => (v === '' ? undefined : v), schema.optional()),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;
