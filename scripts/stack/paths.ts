import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Go-built tools (temporal, tctl, ferretdb): shared by every clone on the machine. */
export const TOOLS_DIR = process.env.VELORA_TOOLS_DIR ?? path.join(homedir(), '.cache', 'velora', 'bin');

/** Where a stack keeps its pid files, logs and data (git-ignored). */
export function stackDir(profile: string): string {
  return path.join(ROOT, '.stack', profile);
}
