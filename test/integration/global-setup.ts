import '../../scripts/quiet-warnings.cjs';
// Integration tests run against the real local stack. `npm test` brings it up in its pretest
// step; this makes a direct `jest --selectProjects integration` work too (up is idempotent).
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { up } from '../../stack/stack';
import { RUN_TAG_ENV } from './helpers';

export default async function globalSetup(): Promise<void> {
  // Test workers inherit it: every uniqueName() of this run carries the tag (global-teardown.ts).
  process.env[RUN_TAG_ENV] = `r${randomBytes(4).toString('hex')}`;
  await up(loadConfig(), (message) => process.stderr.write(`[stack] ${message}\n`));
}
