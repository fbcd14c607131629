// One stream thread (./threads.ts): launches the speed layer as the main thread describes it,
// forwards observations in batches (benches), answers metrics requests (/metrics), stops on
// request, and reports its figures.
import { parentPort, workerData } from 'node:worker_threads';
import { config } from '../core/config';
import { registry } from '../core/metrics';
import { launchSpeedLayer } from './launch';
import type { StreamThreadMessage, StreamThreadRequest, StreamThreadSpec } from './threads';

/** Observations are sent this often (they carry their own times, so batching delays nothing measured). */
const FORWARD_EVERY_MS = 50;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('stream-thread.ts runs as a worker thread of speed-layer/threads.ts');
  const spec = workerData as StreamThreadSpec;
  const post = (m: StreamThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let updated: number[] = [];
  let committed: number[] = [];
  let scored: number[] = [];
  const forward = () => {
    if (updated.length + committed.length + scored.length === 0) return;
    const m = { type: 'observed' as const, updated: Float64Array.from(updated), committed: Float64Array.from(committed), scored: Float64Array.from(scored) };
    updated = [];
    committed = [];
    scored = [];
    post(m, [m.updated.buffer, m.committed.buffer, m.scored.buffer]);
  };
  const observing = spec.observe.updated || spec.observe.committed || spec.observe.scored;
  const timer = observing ? setInterval(forward, FORWARD_EVERY_MS) : undefined;
  // listening from the start: a scrape during the restore is answered, and a stop asked for then
  // is done as soon as the layer is up
  let stopAsked = false;
  let stop = () => void (stopAsked = true);
  let go!: () => void;
  const startGate = new Promise<void>((resolve) => (go = resolve));
  port.on('message', (m: StreamThreadRequest) => {
    if (m.type === 'go') go();
    else if (m.type === 'stop') stop();
    else if (m.type === 'metrics') void registry.getMetricsAsJSON().then((metrics) => post({ type: 'metrics', id: m.id, metrics }));
  });
  const layer = await launchSpeedLayer(config(), spec.launch, {
    observer: {
      joined: (partitions) => post({ type: 'joined', partitions: [...partitions] }),
      updated: spec.observe.updated ? (t, at) => void updated.push(t, at) : undefined,
      committed: spec.observe.committed ? (ts, at) => ts.forEach((t) => committed.push(t, at)) : undefined,
    },
    onScored: spec.observe.scored ? (ms) => void scored.push(ms) : undefined,
    startGate,
  });
  stop = () => void layer.stop().catch(() => undefined);
  if (stopAsked) stop();
  post({ type: 'started' });
  try {
    await layer.speed.done;
  } finally {
    await layer.close();
    if (timer) clearInterval(timer);
    forward();
  }
  post({ type: 'stopped', stats: await layer.figures() });
  // a client left open must not keep the thread alive; the message above is already queued
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((err: unknown) => {
  // rethrown outside the promise: the worker's 'error' event carries it to the main thread
  setImmediate(() => {
    throw err;
  });
});
