// Lake sink throughput: ~100k events pre-produced to a random topic, then (1) a plain kafkajs
// eachBatch consumer that only reads them (baseline) and (2) the lake sink (`rtap sink`, its own
// process, as in production) writing them as Parquet to S3 and committing. Prints events/s of both and their ratio.
// Events are the generator's brief-shaped events (~3.6 KB) through the ingestion step, exactly as
// the API writes them (key, value, `x-rtap-m` and `x-rtap-l` headers); --hand-built uses the
// fixed ~3.4 KB purchase of the figures before 2026-11-28 evening. Records carry the lake record
// header (`x-rtap-l`, core/lake-record.ts); with --no-lake-header they do not, and the sink
// extracts every column in DuckDB.
//   npx tsx bench/ingest/sink.ts [events=100000] [partitions=6] [--no-lake-header] [--hand-built] [--max-bytes=N] [--flushes]
import '../../scripts/quiet-warnings.cjs';
import { randomBytes, randomUUID } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Message } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createKafka, IDEMPOTENT_RETRY } from '../../core/kafka';
import { rawRoot } from '../../core/lake';
import { encodeLakeHeader, LAKE_HEADER } from '../../core/lake-record';
import { createS3, ensureBucket } from '../../core/s3';
import { waitUntil } from '../../core/retry';
import { readHighWaterMarks } from '../../ingest/manifests';
import { ingestedStream } from '../speed/messages';
import { removeBenchData } from './cleanup';
import { spawnSink, steadyRate, stepSummary } from './sink-process';
import { usageOnHelp } from '../args';

usageOnHelp();

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(positional[0] ?? 100_000);
const PARTITIONS = Number(positional[1] ?? 6);
const LAKE_HEADERS = !process.argv.includes('--no-lake-header');
const HAND_BUILT = process.argv.includes('--hand-built');
/** Print every flush of the sink (ms after its start, reason, rows, ms, steps). */
const PRINT_FLUSHES = process.argv.includes('--flushes');
/** The sink's flush size in bytes (`rtap sink --max-bytes`); its default unless given. */
const maxBytesArg = process.argv.find((a) => a.startsWith('--max-bytes='))?.slice('--max-bytes='.length);
const MAX_BYTES = maxBytesArg === undefined ? undefined : Number(maxBytesArg);
const name = (p: string) => `${p}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const pick = <T>(xs: T[], i: number) => xs[i % xs.length];

/** A SPEC 2.1 event of about 2.5 KB with the nested contexts a real purchase carries. */
function event(i: number): { value: string; headers?: Record<string, string> } {
  const e = eventObject(i);
  const value = JSON.stringify(e);
  const lake = LAKE_HEADERS ? encodeLakeHeader(e) : undefined;
  return lake === undefined ? { value } : { value, headers: { [LAKE_HEADER]: lake } };
}

function eventObject(i: number): object {
  const tenant = `tenant-${(i * 7919) % 2000}`;
  const ts = new Date(Date.UTC(2026, 10, 26, 8) + i * 60).toISOString();
  const products = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
    product_id: `sku-${(i + k) % 5000}`,
    product_hierarchy: { category_l1: pick(['home', 'fashion', 'tech'], i + k), category_l2: 'sub', category_l3: 'leaf', brand: `brand-${k}`, model: `m-${i % 97}` },
    pricing: { list_price: 49.99 + k, sale_price: 39.99 + k, cost_basis: 20.5, margin_percentage: 0.42, tax_category: 'standard', currency: 'EUR' },
    inventory: { sku_availability: 'in_stock', quantity_available: 120 - k, warehouse_location: 'FRA-1', supplier_id: `sup-${k}` },
  }));
  return {
    schema_version: '2.1',
    tenant_id: tenant,
    partition_key: `${tenant}:user-${i % 50_000}`,
    event_metadata: {
      event_id: randomUUID(), correlation_id: `sess-${i % 9000}`, causation_id: randomUUID(), timestamp: ts, ingestion_timestamp: ts,
      source_system: pick(['web_app', 'mobile_app', 'api'], i), event_version: '2.1.0',
      processing_flags: { requires_enrichment: false, pii_contains: true, gdpr_subject: true, audit_required: i % 10 === 0 },
    },
    event_data: {
      event_type: pick(['transaction', 'user_interaction'], i), event_subtype: pick(['purchase', 'page_view', 'add_to_cart', 'search'], i),
      user_context: {
        user_id: `u-${randomBytes(8).toString('hex')}`, anonymous_id: `a-${i % 777}`,
        session_data: {
          session_id: `sess-${i % 9000}`, session_start: ts, session_sequence: i % 40,
          session_attributes: {
            device_fingerprint: `fp-${i % 3000}`,
            geolocation: { country: pick(['DE', 'FR', 'US', 'GB', 'BR'], i), region: 'r', city: 'c', coordinates: { lat: 48.1, lon: 11.5 }, accuracy_meters: 30, ip_derived: true },
            user_agent_parsed: { browser: 'Firefox 132', os: 'Linux', device: 'desktop' },
          },
        },
        user_profile: { account_type: 'registered', registration_date: '2024-05-01', verification_status: 'verified', risk_profile: { fraud_score: 0.02, credit_rating: 'A', behavioral_flags: [] } },
      },
      business_context: {
        tenant_metadata: { merchant_id: `m-${tenant}`, merchant_tier: 'gold', industry_vertical: 'retail', geographic_markets: ['EU'], business_model: 'b2c' },
        transaction_context: {
          products,
          cart_context: {
            cart_id: `cart-${i}`,
            cart_value: { subtotal: 120.3, tax_breakdown: [{ type: 'vat', amount: 19.1 }], shipping_costs: 4.99, discounts_applied: [], loyalty_benefits: null, final_total: 144.39 + (i % 100) },
            payment_context: { payment_methods: [{ method_type: pick(['card', 'paypal', 'klarna'], i), provider: 'visa', tokenized_identifier: `tok-${i % 20000}`, billing_address: { address_hash: 'h', country: 'DE', postal_code: '10115', address_type: 'home' }, risk_signals: { first_time_payment: false, velocity_flag: false, geo_mismatch: false, fraud_score: 0.01 } }] },
          },
        },
        interaction_context: { page_context: { page_type: 'checkout', page_url: 'https://shop.example/checkout', referrer_url: 'https://shop.example/cart', page_load_metrics: { ttfb_ms: 120, lcp_ms: 900 } } },
      },
      technical_context: { performance_telemetry: { request_id: randomUUID(), trace_id: randomBytes(16).toString('hex'), processing_time_ms: 12 }, security_context: { api_key_hash: 'k', rate_limit_remaining: 900, security_flags: { suspicious_user_agent: false, tor_exit_node: false, known_bot: false, geo_blocked: false } } },
    },
    ml_context: { feature_vectors: { v: [0.1, 0.2, 0.3, 0.4] }, model_scores: { fraud_detection: 0.03, recommendation: 0.5, churn_prediction: 0.1 } },
  };
}

async function run(): Promise<void> {
  const cfg = loadConfig();
  const kafka = createKafka(cfg.kafka, { clientId: 'rtap-bench-sink' });
  const s3 = createS3(cfg.s3);
  await ensureBucket(s3, cfg.s3.bucket);
  const topic = name('bench-sink');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  await producer.connect();
  let bytes = 0;
  let withHeader = 0;
  const ingested = HAND_BUILT ? undefined : ingestedStream(3);
  const nextMessage = (i: number): Message => {
    if (ingested === undefined) {
      const { value, headers } = event(i);
      return { key: `k${i}`, value, headers };
    }
    const m = ingested.next().value as Message;
    if (LAKE_HEADERS) return m;
    const { [LAKE_HEADER]: _lake, ...headers } = m.headers ?? {};
    return { ...m, headers };
  };
  for (let i = 0; i < N; i += 500) {
    const messages = Array.from({ length: Math.min(500, N - i) }, (_, k) => {
      const m = nextMessage(i + k);
      bytes += Buffer.byteLength(m.value as Buffer | string);
      if (m.headers?.[LAKE_HEADER] !== undefined) withHeader++;
      return m;
    });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
  process.stdout.write(`produced ${N} events (${(bytes / N).toFixed(0)} B avg, ${withHeader} with a lake header) to ${topic} (${PARTITIONS} partitions)\n`);

  // Baseline: read everything with eachBatch, touching only the value length.
  const baseline = kafka.consumer({ groupId: name('bench-baseline') });
  await baseline.connect();
  await baseline.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let t0 = 0;
  await baseline.run({
    eachBatch: async ({ batch }) => {
      if (t0 === 0) t0 = Date.now();
      for (const m of batch.messages) if (m.value) seen += 1;
    },
  });
  await waitUntil(async () => seen >= N, 600_000, 20);
  const baseMs = Date.now() - t0;
  await baseline.disconnect();

  // The lake sink (`rtap sink` in a process of its own): Parquet on S3, commit after durable,
  // high-water published. Timed from its "lake sink started" to the high-water covering all events.
  const prefix = `bench/${name('sink')}`;
  const dlqTopic = name('bench-dlq');
  const spawned = Date.now();
  const sink = spawnSink({ topic, groupId: name('bench-sink-group'), dlqTopic, prefix, flushMs: 2000, maxBytes: MAX_BYTES, env: { DUCKDB_THREADS: String(cfg.duckdb.threads) } });
  let sinkMs: number;
  let startupMs: number;
  let cpuSeconds: number;
  let steady: number | undefined;
  let steps: string | undefined;
  try {
    const started = await sink.started;
    startupMs = started - spawned;
    const done = async () => Object.values(await readHighWaterMarks(s3, cfg.s3.bucket, prefix)).reduce((a, b) => a + b, 0) >= N;
    if (!(await waitUntil(done, 900_000, 100))) throw new Error(`the sink did not catch up: ${sink.otherOutput.join('\n').slice(-2000)}`);
    sinkMs = Date.now() - started;
    steady = steadyRate(sink.flushes);
    steps = stepSummary(sink.flushes);
    if (PRINT_FLUSHES) for (const f of sink.flushes) process.stdout.write(`flush at +${f.time - started} ms: ${f.reason}, ${f.rows} rows, ${f.ms} ms ${JSON.stringify(f.steps)}\n`);
    cpuSeconds = sink.cpuSeconds(); // start-up included
  } finally {
    await sink.stop();
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: rawRoot(prefix) }));
  await removeBenchData(kafka, [topic, dlqTopic], { client: s3, bucket: cfg.s3.bucket, prefix });

  const baseRate = N / (baseMs / 1000);
  const sinkRate = N / (sinkMs / 1000);
  process.stdout.write(
    [
      `baseline kafkajs eachBatch read: ${baseRate.toFixed(0)} events/s (${baseMs} ms)`,
      `lake sink to Parquet on S3:      ${sinkRate.toFixed(0)} events/s (${sinkMs} ms from its start; process start-up before it ${startupMs} ms)`,
      `ratio sink/baseline:             ${(sinkRate / baseRate).toFixed(2)}`,
      `lake sink, steady:               ${steady === undefined ? 'n/a (fewer than 2 full flushes)' : `${steady.toFixed(0)} events/s (full flushes only: start-up and the last partial chunk left out)`}`,
      `sink flush steps, ms:            ${steps ?? 'n/a (no full flush)'}`,
      `sink CPU per event:              ${((cpuSeconds * 1e6) / N).toFixed(0)} µs (rtap sink process, all threads, start-up included)`,
      `objects ${listed.KeyCount ?? '?'} (${listed.IsTruncated ? 'first 1000 listed' : 'all'}), ${(bytes / 1e6).toFixed(1)} MB JSON, DuckDB threads ${cfg.duckdb.threads}`,
    ].join('\n') + '\n',
  );
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
