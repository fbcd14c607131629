// Where generated events go: Kafka (batched, idempotent producer, acks=all), the ingestion HTTP
// API, or NDJSON / Parquet files. Labels never travel inside the payload: Kafka carries them in
// the `x-rtap-label` header, files (and optionally HTTP) in a side file of one JSON line per event.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { openDuckDb, sqlLiteral } from '../core/duckdb';
import { DependencyError, RtapError } from '../core/errors';
import { withRetry } from '../core/retry';
import { LATEST_VERSION } from '../core/schema/registry';
import { decodeBatch, type EncodedBatch } from './wire';

export const LABEL_HEADER = 'x-rtap-label';
export const SCHEMA_VERSION_HEADER = 'schema_version';

/** One serialized event ready to send. */
export interface OutMessage {
  key: string;
  value: string;
  /** JSON of the event's label. */
  label: string;
}

export interface SendResult {
  /** Events the destination accepted. */
  sent: number;
  /** Events it refused (e.g. rejected to the DLQ by the ingestion API). */
  rejected: number;
}

export interface Sink {
  readonly description: string;
  open(): Promise<void>;
  send(batch: OutMessage[]): Promise<SendResult>;
  close(): Promise<void>;
}

// ---- Kafka -------------------------------------------------------------------------------

export class KafkaSink implements Sink {
  private producer: Producer | undefined;
  readonly description: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {
    this.description = `kafka topic ${topic}`;
  }

  async open(): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (err) {
      throw new DependencyError('kafka', `cannot connect the producer (is the stack up? try \`rtap up\`): ${(err as Error).message}`, err);
    }
    this.producer = producer;
  }

  async send(batch: OutMessage[]): Promise<SendResult> {
    await this.producer!.send({
      topic: this.topic,
      acks: -1,
      messages: batch.map((m) => ({ key: m.key, value: m.value, headers: { [SCHEMA_VERSION_HEADER]: LATEST_VERSION, [LABEL_HEADER]: m.label } })),
    });
    return { sent: batch.length, rejected: 0 };
  }

  /** Sends a batch made by the generator worker: zero-copy Buffer views, nothing re-encoded. */
  async sendEncoded(batch: EncodedBatch): Promise<SendResult> {
    const messages = decodeBatch(batch).map((m) => ({ key: m.key, value: m.value, headers: { [SCHEMA_VERSION_HEADER]: LATEST_VERSION, [LABEL_HEADER]: m.label } }));
    await this.producer!.send({ topic: this.topic, acks: -1, messages });
    return { sent: batch.n, rejected: 0 };
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

// ---- HTTP (ingestion API) ---------------------------------------------------------------

export const INGEST_PATH = '/api/v2/events/batch';

export class HttpSink implements Sink {
  readonly description: string;
  private readonly endpoint: string;
  private labels: LabelFile | undefined;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly labelsPath?: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    this.endpoint = `${baseUrl.replace(/\/+$/, '')}${INGEST_PATH}`;
    this.description = `POST ${this.endpoint}`;
  }

  async open(): Promise<void> {
    if (this.labelsPath) this.labels = new LabelFile(this.labelsPath);
  }

  async send(batch: OutMessage[]): Promise<SendResult> {
    const body = `{"events":[${batch.map((m) => m.value).join(',')}]}`;
    const result = await withRetry(() => this.post(body), { retries: 4, initialDelayMs: 200, maxDelayMs: 3000 });
    await this.labels?.write(batch);
    return { sent: batch.length - result.rejected, rejected: result.rejected };
  }

  private async post(body: string): Promise<{ rejected: number }> {
    let res: Response;
    try {
      res = await this.fetchFn(this.endpoint, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': this.apiKey }, body });
    } catch (err) {
      const code = ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message) || 'network error';
      // Refused connections are final: retrying a missing server only delays the message.
      throw new RtapError(
        `the ingestion API is unreachable at ${this.endpoint} (${code}); start it with \`rtap api\` or point --url at a running one`,
        { retriable: code !== 'ECONNREFUSED' && code !== 'ENOTFOUND', cause: err },
      );
    }
    const text = await res.text();
    if (res.status === 404) throw new RtapError(`the server at ${this.endpoint} has no ${INGEST_PATH} endpoint (404): is it the rtap ingestion API?`);
    if (res.status === 401 || res.status === 403) throw new RtapError(`the ingestion API refused the API key (${res.status}): pass a valid --api-key or set RTAP_API_KEY`);
    if (res.status === 429 || res.status >= 500) throw new RtapError(`the ingestion API answered ${res.status}: ${text.slice(0, 200)}`, { retriable: true });
    if (res.status >= 400) throw new RtapError(`the ingestion API rejected the batch (${res.status}): ${text.slice(0, 500)}`);
    return { rejected: rejectedCount(text) };
  }

  async close(): Promise<void> {
    await this.labels?.close();
  }
}

/** Reads `rejected` (a number or a list) from the API's answer; 0 when it says nothing. */
function rejectedCount(text: string): number {
  try {
    const body = JSON.parse(text) as { rejected?: unknown };
    if (typeof body.rejected === 'number') return body.rejected;
    if (Array.isArray(body.rejected)) return body.rejected.length;
  } catch {
    // An empty or non-JSON 2xx body means everything was accepted.
  }
  return 0;
}

// ---- Files --------------------------------------------------------------------------------

/** Writes lines with backpressure. */
class LineFile {
  private readonly stream: fs.WriteStream;
  private failure: Error | undefined;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'w' });
    this.stream.on('error', (err) => (this.failure = err));
  }

  async writeText(text: string): Promise<void> {
    if (this.failure) throw new RtapError(`cannot write ${this.file}: ${this.failure.message}`);
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err || this.failure ? reject(new RtapError(`cannot write ${this.file}: ${(err ?? this.failure)!.message}`)) : resolve()));
    });
  }
}

/** The labels side file: `{"line":n,"key":…,"label":{…}}` per event, in output order. */
class LabelFile {
  private readonly out: LineFile;
  private line = 0;

  constructor(file: string) {
    this.out = new LineFile(file);
  }

  write(batch: OutMessage[]): Promise<void> {
    let text = '';
    for (const m of batch) text += `{"line":${++this.line},"key":${JSON.stringify(m.key)},"label":${m.label}}\n`;
    return this.out.writeText(text);
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

export function labelsPathFor(out: string): string {
  return `${out}.labels.ndjson`;
}

export class NdjsonSink implements Sink {
  readonly description: string;
  private out: LineFile | undefined;
  private labels: LabelFile | undefined;

  constructor(
    private readonly file: string,
    private readonly labelsFile: string = labelsPathFor(file),
  ) {
    this.description = `${file} (labels in ${labelsFile})`;
  }

  async open(): Promise<void> {
    this.out = new LineFile(this.file);
    this.labels = new LabelFile(this.labelsFile);
  }

  async send(batch: OutMessage[]): Promise<SendResult> {
    let text = '';
    for (const m of batch) text += m.value + '\n';
    await this.out!.writeText(text);
    await this.labels!.write(batch);
    return { sent: batch.length, rejected: 0 };
  }

  async close(): Promise<void> {
    await this.out?.close();
    await this.labels?.close();
  }
}

/**
 * Parquet: events are written as NDJSON next to the target, then DuckDB converts them
 * (read_json with every line sampled, so defective lines widen a column's type instead of
 * failing) and the NDJSON is removed.
 */
export class ParquetSink implements Sink {
  readonly description: string;
  private readonly ndjson: NdjsonSink;
  private readonly tmp: string;

  constructor(
    private readonly file: string,
    labelsFile: string = labelsPathFor(file),
  ) {
    this.tmp = `${file}.tmp.ndjson`;
    this.ndjson = new NdjsonSink(this.tmp, labelsFile);
    this.description = `${file} (labels in ${labelsFile})`;
  }

  open(): Promise<void> {
    return this.ndjson.open();
  }

  send(batch: OutMessage[]): Promise<SendResult> {
    return this.ndjson.send(batch);
  }

  async close(): Promise<void> {
    await this.ndjson.close();
    await ndjsonToParquet(this.tmp, this.file);
    fs.rmSync(this.tmp, { force: true });
  }
}

export async function ndjsonToParquet(ndjson: string, parquet: string): Promise<void> {
  const { instance, connection } = await openDuckDb({ threads: 1, memoryLimit: '1GB' });
  try {
    await connection.run(
      `COPY (SELECT * FROM read_json(${sqlLiteral(ndjson)}, format = 'newline_delimited', sample_size = -1, maximum_object_size = 1048576)) ` +
        `TO ${sqlLiteral(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } catch (err) {
    throw new DependencyError('duckdb', `converting ${ndjson} to Parquet failed: ${(err as Error).message}`, err);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
