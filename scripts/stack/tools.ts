import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { TOOLS_DIR } from './paths.js';

/**
 * Finds a tool: an explicit environment variable, then PATH, then the project's tools folder
 * (where scripts/install-tools.sh puts what it builds with `go install`).
 */
export function findTool(
  name: 'temporal' | 'tctl' | 'ferretdb' | 'mongod' | 'mailpit',
  envVar?: string,
): string | undefined {
  const explicit = envVar ? process.env[envVar] : undefined;
  if (explicit && executable(explicit)) return explicit;
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), TOOLS_DIR]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function requireTool(name: 'temporal' | 'tctl' | 'ferretdb' | 'mailpit', envVar?: string): string {
  const found = findTool(name, envVar);
  if (!found)
    throw new Error(`${name} is not installed: run scripts/install-tools.sh (it builds it with go install)`);
  return found;
}
