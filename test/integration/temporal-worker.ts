// A Temporal worker for an integration test: the real workflows bundle on a task queue of the
// test's own, with the activities the test gives, against the stack's Temporal dev server.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { cfg } from './helpers';

export interface TestWorker {
  /** A client on the same namespace, for starting workflows. */
  client: Client;
  /** Shuts the worker down, waits for it to finish, and closes both connections. */
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startTestWorker(taskQueue: string, activities: object): Promise<TestWorker> {
  if (!runtimeInstalled) {
    // the SDK's core logs at INFO by default: a test's output would drown in worker polling lines
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const nativeConnection = await NativeConnection.connect({ address: cfg.temporal.address });
  const connection = await Connection.connect({ address: cfg.temporal.address });
  const client = new Client({ connection, namespace: cfg.temporal.namespace });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities,
  });
  const running = worker.run();
  return {
    client,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
