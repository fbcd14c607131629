// Shared helpers for integration specs: real clients on the local stack, unique names per run.
import { randomBytes } from 'node:crypto';
import { loadConfig, type RtapConfig } from '../../core/config';

export const cfg: RtapConfig = loadConfig();

/** A name no other test run uses, for topics, groups, object prefixes and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
