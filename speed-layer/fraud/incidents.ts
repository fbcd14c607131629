// Anomalies grouped into incidents: an anomaly joins the open incident of its tenant that shares
// one of its entities (account, card token, device, shipping address — tokenized ids only) and
// was last active within `windowUs` of event time; when it links several, they merge into the
// oldest. Kept per source partition (a partition's events are processed in order by one instance,
// so the grouping is deterministic) and checkpointed to the speed-layer changelog with the
// anomalies that formed it, in the same transaction: after a restore the same anomalies belong to
// the same incidents. The limit that follows: one account's events stay on one partition, but a
// card shared by accounts on two partitions makes two incidents (one per partition).
//
// Incident ids are `inc_<event id of the anomaly that opened it>`: stable across restores.

export type IncidentEntityKind = 'user' | 'card' | 'device' | 'address';

export interface IncidentEntity {
  kind: IncidentEntityKind;
  id: string;
}

export interface Incident {
  incident_id: string;
  tenant_id: string;
  first_us: number;
  last_us: number;
  anomalies: number;
  max_score: number;
  /** Entities linked so far as `kind:id` (at most MAX_ENTITIES kept). */
  entities: string[];
  /** Detector ids seen among its anomalies' reasons. */
  detectors: string[];
}

export interface IncidentOptions {
  /** Event time an incident stays open after its last anomaly. Default 30 minutes. */
  windowUs?: number;
  /** Open incidents per partition; past it the least recently active are closed. Default 50,000. */
  maxOpen?: number;
}

export interface IncidentAssignment {
  incident: Incident;
  /** The anomaly opened it. */
  opened: boolean;
  /** Incidents merged into it by this anomaly. */
  merged: string[];
}

export interface Incidents {
  assign(partition: number, tenant: string, eventId: string, timeUs: number, entities: readonly IncidentEntity[], score: number, detectors: readonly string[]): IncidentAssignment;
  /** Incidents changed since the last call as changelog records (`i:<id>`; null closes one). */
  takeChanged(): { partition: number; key: string; value: string | null }[];
  /** A changelog record read back (key without the processor prefix). */
  restore(partition: number, key: string, value: string | null): void;
  dropPartition(partition: number): void;
  open(partition: number): number;
}

const MAX_ENTITIES = 64;
const MAX_DETECTORS = 32;
const KEY_PREFIX = 'i:';

interface PartitionIncidents {
  byId: Map<string, Incident>;
  /** tenant\0kind:id → incident id */
  index: Map<string, string>;
  maxUs: number;
}

const indexKey = (tenant: string, entity: string) => `${tenant}\u0000${entity}`;

export function createIncidents(opts: IncidentOptions = {}): Incidents {
  const windowUs = opts.windowUs ?? 30 * 60_000_000;
  const maxOpen = opts.maxOpen ?? 50_000;
  const parts = new Map<number, PartitionIncidents>();
  /** partition → incident ids changed (value written) or closed (tombstone) since the last take */
  const changed = new Map<number, Set<string>>();

  const partOf = (p: number): PartitionIncidents => {
    let s = parts.get(p);
    if (!s) parts.set(p, (s = { byId: new Map(), index: new Map(), maxUs: 0 }));
    return s;
  };
  const touch = (p: number, id: string) => {
    let c = changed.get(p);
    if (!c) changed.set(p, (c = new Set()));
    c.add(id);
  };
  const indexIt = (s: PartitionIncidents, inc: Incident) => {
    for (const e of inc.entities) s.index.set(indexKey(inc.tenant_id, e), inc.incident_id);
  };
  const close = (p: number, s: PartitionIncidents, inc: Incident) => {
    s.byId.delete(inc.incident_id);
    for (const e of inc.entities) if (s.index.get(indexKey(inc.tenant_id, e)) === inc.incident_id) s.index.delete(indexKey(inc.tenant_id, e));
    touch(p, inc.incident_id);
  };

  function expire(p: number, s: PartitionIncidents): void {
    const horizon = s.maxUs - windowUs;
    for (const inc of s.byId.values()) if (inc.last_us < horizon) close(p, s, inc);
    if (s.byId.size > maxOpen) {
      const oldest = [...s.byId.values()].sort((a, b) => a.last_us - b.last_us).slice(0, s.byId.size - maxOpen);
      for (const inc of oldest) close(p, s, inc);
    }
  }

  return {
    assign(partition, tenant, eventId, timeUs, entities, score, detectors) {
      const s = partOf(partition);
      if (timeUs > s.maxUs) s.maxUs = timeUs;
      const keys = entities.map((e) => `${e.kind}:${e.id}`);
      const linked = new Map<string, Incident>();
      for (const k of keys) {
        const id = s.index.get(indexKey(tenant, k));
        const inc = id === undefined ? undefined : s.byId.get(id);
        if (inc && inc.last_us >= timeUs - windowUs) linked.set(inc.incident_id, inc);
      }
      const sorted = [...linked.values()].sort((a, b) => a.first_us - b.first_us || a.incident_id.localeCompare(b.incident_id));
      let inc = sorted[0];
      const opened = inc === undefined;
      if (!inc) {
        inc = { incident_id: `inc_${eventId}`, tenant_id: tenant, first_us: timeUs, last_us: timeUs, anomalies: 0, max_score: 0, entities: [], detectors: [] };
        s.byId.set(inc.incident_id, inc);
      }
      const merged: string[] = [];
      for (const other of sorted.slice(1)) {
        inc.first_us = Math.min(inc.first_us, other.first_us);
        inc.last_us = Math.max(inc.last_us, other.last_us);
        inc.anomalies += other.anomalies;
        inc.max_score = Math.max(inc.max_score, other.max_score);
        inc.entities = [...new Set([...inc.entities, ...other.entities])].slice(0, MAX_ENTITIES);
        inc.detectors = [...new Set([...inc.detectors, ...other.detectors])].slice(0, MAX_DETECTORS);
        close(partition, s, other);
        merged.push(other.incident_id);
      }
      inc.first_us = Math.min(inc.first_us, timeUs);
      inc.last_us = Math.max(inc.last_us, timeUs);
      inc.anomalies += 1;
      inc.max_score = Math.max(inc.max_score, score);
      inc.entities = [...new Set([...inc.entities, ...keys])].slice(0, MAX_ENTITIES);
      inc.detectors = [...new Set([...inc.detectors, ...detectors])].slice(0, MAX_DETECTORS);
      indexIt(s, inc);
      touch(partition, inc.incident_id);
      return { incident: inc, opened, merged };
    },
    takeChanged() {
      const out: { partition: number; key: string; value: string | null }[] = [];
      for (const [p, s] of parts) expire(p, s);
      for (const [p, ids] of changed) {
        const s = parts.get(p);
        for (const id of ids) {
          const inc = s?.byId.get(id);
          out.push({ partition: p, key: `${KEY_PREFIX}${id}`, value: inc ? JSON.stringify(inc) : null });
        }
      }
      changed.clear();
      return out;
    },
    restore(partition, key, value) {
      if (!key.startsWith(KEY_PREFIX)) return;
      const s = partOf(partition);
      const id = key.slice(KEY_PREFIX.length);
      const old = s.byId.get(id);
      if (old) {
        s.byId.delete(id);
        for (const e of old.entities) if (s.index.get(indexKey(old.tenant_id, e)) === id) s.index.delete(indexKey(old.tenant_id, e));
      }
      if (value === null) return;
      const inc = JSON.parse(value) as Incident;
      s.byId.set(id, inc);
      if (inc.last_us > s.maxUs) s.maxUs = inc.last_us;
      indexIt(s, inc);
    },
    dropPartition(partition) {
      parts.delete(partition);
      changed.delete(partition);
    },
    open: (partition) => parts.get(partition)?.byId.size ?? 0,
  };
}
