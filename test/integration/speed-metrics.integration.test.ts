// `rtap speed --threads 2` serves one /metrics for the whole process: every stream thread's
// registry summed with the main thread's, the process-wide metrics counted once. Checked against
// what was produced: the events counted by the two threads together are the events sent. The
// events are in the topic before it starts, and the threads split them without a handover.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { kafkaKeyOf } from '../../core/ingest-step';
import { EventGenerator } from '../../generator/generator';
import { createSpeedTopics } from './kafka-read';
import { cfg, freePort, spawnSpeed, uniqueName, uniqueSpeedTopics } from './helpers';

jest.setTimeout(180_000);

const PARTITIONS = 4;
const EVENTS = 400;

/** CPU seconds a process has used so far (Linux: /proc/<pid>/stat, utime + stime in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Sum of a metric's samples in Prometheus text, over the lines whose labels contain `labels`. */
function sampleSum(text: string, name: string, labels = ''): { lines: number; sum: number } {
  let lines = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    lines++;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return { lines, sum };
}

describe('rtap speed /metrics (real stack, two stream threads)', () => {
  const kafka = createKafka(cfg.kafka, { clientId: uniqueName('speed-metrics-it') });
  const topics = uniqueSpeedTopics('sm');
  const children = new Set<ChildProcess>();

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('sums the threads, counts the process once, and stops cleanly', async () => {
    await createSpeedTopics(kafka, topics, PARTITIONS);
    const gen = new EventGenerator({ seed: 5, tenants: 4, users: 200, rate: 200, fraudRate: 0, defectRate: 0, lateRate: 0, startUs: Date.now() * 1000 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
    await producer.connect();
    const messages = Array.from({ length: EVENTS }, () => {
      const event = gen.next().event;
      return { key: kafkaKeyOf(event), value: JSON.stringify(event) };
    });
    await producer.send({ topic: topics.events, messages });
    await producer.disconnect();

    const port = await freePort();
    const child = spawnSpeed(children, { topics, group: uniqueName('sm-group'), instance: uniqueName('sm'), prefix: uniqueName('sm-lake'), args: ['--threads', '2', '--metrics-port', String(port)] });
    const url = `http://127.0.0.1:${port}/metrics`;

    // every event read once over both threads (counted, or a duplicate the generator resent)
    let text = '';
    const deadline = Date.now() + 120_000;
    for (;;) {
      text = await fetch(url).then((r) => (r.ok ? r.text() : ''), () => '');
      if (sampleSum(text, 'rtap_speed_events_total').sum >= EVENTS || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const read = sampleSum(text, 'rtap_speed_events_total');
    expect(read.sum).toBe(EVENTS);
    expect(sampleSum(text, 'rtap_speed_events_total', 'outcome="rejected"').sum).toBe(0);
    expect(sampleSum(text, 'rtap_speed_state_cells').sum).toBeGreaterThan(0);
    // per partition, each held by one thread: one line for each of the topic's partitions
    expect(sampleSum(text, 'rtap_speed_lag_messages').lines).toBe(PARTITIONS);
    // the threads split the partitions before either processed an event (the start gate): no
    // partition was worked by one thread and then rebuilt by the other from the changelog
    expect(sampleSum(text, 'rtap_speed_restored_records_total').lines).toBe(1);
    expect(sampleSum(text, 'rtap_speed_restored_records_total').sum).toBe(0);
    // the process, once: not once per thread (three isolates report the same process)
    const before = cpuSeconds(child.pid!);
    const scraped = sampleSum(await (await fetch(url)).text(), 'rtap_process_cpu_seconds_total');
    const after = cpuSeconds(child.pid!);
    expect(scraped.lines).toBe(1);
    // (prom-client counts from when the metrics were registered, after start-up: below /proc's figure)
    expect(scraped.sum).toBeGreaterThan(0);
    expect(scraped.sum).toBeLessThanOrEqual(after * 1.1 + 0.1);
    expect(before).toBeGreaterThan(0);
    expect(sampleSum(text, 'rtap_process_resident_memory_bytes').lines).toBe(1);

    const other = await fetch(`http://127.0.0.1:${port}/other`);
    expect(other.status).toBe(404);
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('a SIGTERM as soon as /metrics answers (the threads still starting) stops it cleanly', async () => {
    const port = await freePort();
    const child = spawnSpeed(children, { topics, group: uniqueName('sm-group'), instance: uniqueName('sm'), prefix: uniqueName('sm-lake'), args: ['--threads', '2', '--metrics-port', String(port)] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error('/metrics never answered');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
