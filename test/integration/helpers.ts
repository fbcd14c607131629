// Shared helpers for integration specs: real clients on the local stack, unique names per run.
import { randomBytes } from 'node:crypto';
import { loadConfig, type RtapConfig } from '../../core/config';

export const cfg: RtapConfig = loadConfig();

/** Tags every name a test run creates, so global-teardown.ts removes this run's topics and objects only. */
export const RUN_TAG_ENV = 'RTAP_TEST_RUN';

/** The run tag set by global-setup.ts (`r` + hex), or `r0` when a suite runs without it. */
export function runTag(): string {
  return process.env[RUN_TAG_ENV] ?? 'r0';
}

/** A name no other test run uses, for topics, groups, object prefixes and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${runTag()}-${randomBytes(3).toString('hex')}`;
}
