// Bench input shared by the speed benchmarks: full generator events through the ingestion step,
// so each message carries the `x-rtap-m` speed header, as the ingestion API writes them.
import type { Message } from 'kafkajs';
import type { ApiKeyRecord } from '../../core/control';
import { createIngestStep } from '../../core/ingest-step';
import { createKeyring } from '../../core/pii';
import { EventGenerator } from '../../generator/generator';

/**
 * Accepted messages of generator events (default options: late events, duplicates and defects at
 * their usual shares), endlessly. `unique` leaves the generator's duplicates out, so that the
 * speed layer counts every message.
 */
export function* ingestedStream(seed: number, opts: { unique?: boolean } = {}): Generator<Message> {
  const step = createIngestStep({ keyring: createKeyring({ v1: 'rtap-bench-speed-key' }, 'v1'), isActiveTenant: () => true });
  const principal: ApiKeyRecord = { key_hash: 'bench', tenant_id: '*', roles: ['ingest'], label: 'bench', created_at: '' };
  const gen = new EventGenerator({ seed });
  const ids = new Set<string>();
  for (let i = 0; ; i++) {
    const o = step(gen.next().event, i, principal);
    if (o.kind !== 'ok') continue;
    if (opts.unique) {
      const id = `${o.tenantId}\u0000${o.eventId}`;
      if (ids.has(id)) continue;
      ids.add(id);
    }
    yield o.message;
  }
}

/** The first `count` messages of ingestedStream. */
export function ingestedMessages(count: number, seed: number, opts: { unique?: boolean } = {}): Message[] {
  const out: Message[] = [];
  for (const m of ingestedStream(seed, opts)) {
    if (out.length === count) break;
    out.push(m);
  }
  return out;
}
