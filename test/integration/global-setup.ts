import '../../scripts/quiet-warnings.cjs';
// Integration tests run against the real local stack. `npm test` brings it up in its pretest
// step; this makes a direct `jest --selectProjects integration` work too (up is idempotent).
import { loadConfig } from '../../core/config';
import { up } from '../../stack/stack';

export default async function globalSetup(): Promise<void> {
  await up(loadConfig(), (message) => process.stderr.write(`[stack] ${message}\n`));
}
