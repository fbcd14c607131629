// Following a long-running workflow from the CLI: its progress query every two seconds, a line
// printed whenever the description changes, until the workflow ends.
import type { WorkflowHandle } from '@temporalio/client';

/** CLI messages go to stderr, so stdout stays for results (`--json`). */
export function say(message: string): void {
  process.stderr.write(`rtap: ${message}\n`);
}

/**
 * Waits for the workflow's result while printing its progress (`describe` of the query's answer).
 * Before a worker picks the run up there is no one to answer the query: that is said once.
 */
export async function followWorkflow<P, R>(handle: WorkflowHandle, query: string, describe: (progress: P) => string): Promise<R> {
  let last = '';
  const poll = setInterval(() => {
    handle
      .query<P>(query)
      .then((p) => {
        const line = describe(p);
        if (line !== last) say(line);
        last = line;
      })
      .catch(() => {
        if (last === '') say('waiting for a worker (is `rtap worker` running?)…');
        last = last || 'waiting';
      });
  }, 2000);
  try {
    return (await handle.result()) as R;
  } finally {
    clearInterval(poll);
  }
}
