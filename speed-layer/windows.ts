// Event-time windows of one speed-layer instance, pure (no Kafka): per-partition watermarks,
// which minute windows close, and per-user sessions. Tumbling 1-minute windows ARE the minute
// cells of core/measures; sliding 5-minute windows (every minute) are merged from five minute
// cells when a minute closes; sessions (gap 30 min by default) are kept per (tenant, user).
import { CopyOnWrite, type DeferredRecords } from '../core/measures';
import type { PartitionProgress, SessionState } from '../core/speed-changelog';

export const MINUTE_US = 60_000_000;
export const SLIDING_MINUTES = 5;

export interface WindowOptions {
  /** Watermark = largest event time seen in the partition − this. */
  allowedLatenessMs: number;
  /** A user's session ends after this much event time without an event. */
  sessionGapMs: number;
}

export interface PartitionClock {
  maxEventUs: number | null;
  watermarkUs: number | null;
  /** Minute windows starting before this are closed (results emitted). */
  emittedUntilUs: number | null;
}

export interface ClosedSession extends SessionState {
  partition: number;
  tenant_id: string;
  user_id: string;
}

interface UserSessions {
  partition: number;
  tenant_id: string;
  user_id: string;
  sessions: SessionState[];
  /** The minute of event time under which the user is queued for closeSessions() (undefined: not queued). */
  due: number | undefined;
  /** Its record's slot in a deferred take still encoding (takeChangedSessionsDeferred); -1: none. */
  pending: number;
}

export interface WindowState {
  clock(partition: number): PartitionClock;
  /**
   * Moves the partition's watermark by one event; true when the event is late (its minute window
   * had already closed: it still counts in its cell, but its window result was emitted without it).
   */
  observe(partition: number, eventUs: number): boolean;
  /** Adds an event to its user's sessions, merging sessions it bridges. */
  addToSession(partition: number, tenant: string, user: string, eventUs: number): void;
  /** The minute windows [from, until) of the partition the watermark has passed; marks them closed. */
  closeMinutes(partition: number): { fromUs: number; untilUs: number } | undefined;
  /** Sessions of the partition whose gap the watermark has passed; removed from the state. */
  closeSessions(partition: number): ClosedSession[];
  /** Sessions changed since the last call: key parts and the open sessions (empty: none left). */
  takeChangedSessions(): UserSessions[];
  /**
   * takeChangedSessions(), each user's record encoded later (`encode`), a slice at a time, as the
   * sessions are now: a user's sessions changed before their turn are encoded first (copy on write).
   * A take still unfinished when the next starts is finished first.
   */
  takeChangedSessionsDeferred<T>(encode: (u: Readonly<UserSessions>) => T): DeferredRecords<T>;
  restoreClock(partition: number, p: PartitionProgress): void;
  restoreSessions(partition: number, tenant: string, user: string, sessions: SessionState[]): void;
  dropPartition(partition: number): void;
  /** Open sessions, over all partitions. */
  readonly sessionCount: number;
}

export function createWindowState(opts: WindowOptions): WindowState {
  if (!Number.isSafeInteger(opts.allowedLatenessMs) || opts.allowedLatenessMs < 0) throw new RangeError(`allowed lateness ${opts.allowedLatenessMs} ms is not a non-negative integer`);
  if (!Number.isSafeInteger(opts.sessionGapMs) || opts.sessionGapMs < 1) throw new RangeError(`session gap ${opts.sessionGapMs} ms is not a positive integer`);
  const latenessUs = opts.allowedLatenessMs * 1000;
  const gapUs = opts.sessionGapMs * 1000;
  const clocks = new Map<number, PartitionClock>();
  /** partition → tenant → user → sessions (sorted by start, never within the gap of each other). */
  const users = new Map<number, Map<string, Map<string, UserSessions>>>();
  let changed = new Set<UserSessions>();
  /** The changed users of a deferred take, encoded as of the take (copy on write). */
  const cow = new CopyOnWrite<UserSessions>();
  /**
   * partition → minute → users to check then: each user with open sessions is queued once, under
   * the minute its earliest session can end (last event + gap) or earlier, so closeSessions()
   * visits only users whose session may have ended instead of every user of the partition.
   * Extending a session makes its end later and keeps the entry (checked, then queued again).
   */
  const due = new Map<number, Map<number, Set<UserSessions>>>();
  const unschedule = (u: UserSessions) => {
    if (u.due === undefined) return;
    const byMinute = due.get(u.partition);
    const set = byMinute?.get(u.due);
    if (set) {
      set.delete(u);
      if (set.size === 0) byMinute!.delete(u.due);
    }
    u.due = undefined;
  };
  const schedule = (u: UserSessions) => {
    if (u.sessions.length === 0) return unschedule(u);
    let earliest = Infinity;
    for (const s of u.sessions) if (s.last_us < earliest) earliest = s.last_us;
    const minute = Math.floor((earliest + gapUs) / MINUTE_US);
    // queued at or before the minute needed: the check then finds it and queues it again
    if (u.due !== undefined && u.due <= minute) return;
    unschedule(u);
    let byMinute = due.get(u.partition);
    if (!byMinute) due.set(u.partition, (byMinute = new Map()));
    let set = byMinute.get(minute);
    if (!set) byMinute.set(minute, (set = new Set()));
    set.add(u);
    u.due = minute;
  };
  let sessionCount = 0;

  const clock = (p: number) => {
    let c = clocks.get(p);
    if (!c) {
      c = { maxEventUs: null, watermarkUs: null, emittedUntilUs: null };
      clocks.set(p, c);
    }
    return c;
  };
  const usersOf = (p: number, tenant: string) => {
    let byTenant = users.get(p);
    if (!byTenant) users.set(p, (byTenant = new Map()));
    let m = byTenant.get(tenant);
    if (!m) byTenant.set(tenant, (m = new Map()));
    return m;
  };

  function takeChangedSessions(): UserSessions[] {
    // a deferred take still encoding is finished first
    cow.encodeSome(Infinity);
    const out = [...changed];
    changed = new Set();
    return out;
  }

  return {
    clock,
    observe(partition, eventUs) {
      const c = clock(partition);
      const windowEnd = Math.floor(eventUs / MINUTE_US) * MINUTE_US + MINUTE_US;
      const late = c.emittedUntilUs !== null && windowEnd <= c.emittedUntilUs;
      if (c.maxEventUs === null || eventUs > c.maxEventUs) {
        c.maxEventUs = eventUs;
        c.watermarkUs = eventUs - latenessUs;
      }
      // the first event opens the partition's windows at its watermark's minute
      if (c.emittedUntilUs === null) c.emittedUntilUs = Math.floor(c.watermarkUs! / MINUTE_US) * MINUTE_US;
      return late;
    },
    addToSession(partition, tenant, user, eventUs) {
      const m = usersOf(partition, tenant);
      let u = m.get(user);
      if (!u) {
        u = { partition, tenant_id: tenant, user_id: user, sessions: [], due: undefined, pending: -1 };
        m.set(user, u);
      } else if (u.pending >= 0) cow.freeze(u);
      changed.add(u);
      // the usual case, an event within the gap of the user's one open session: extend it in place
      const only = u.sessions.length === 1 ? u.sessions[0] : undefined;
      if (only && eventUs >= only.start_us - gapUs && eventUs <= only.last_us + gapUs) {
        if (eventUs < only.start_us) only.start_us = eventUs;
        if (eventUs > only.last_us) only.last_us = eventUs;
        only.events++;
        return;
      }
      const merged: SessionState = { start_us: eventUs, last_us: eventUs, events: 1 };
      const keep: SessionState[] = [];
      for (const s of u.sessions) {
        if (eventUs >= s.start_us - gapUs && eventUs <= s.last_us + gapUs) {
          merged.start_us = Math.min(merged.start_us, s.start_us);
          merged.last_us = Math.max(merged.last_us, s.last_us);
          merged.events += s.events;
        } else keep.push(s);
      }
      sessionCount += 1 - (u.sessions.length - keep.length);
      keep.push(merged);
      keep.sort((a, b) => a.start_us - b.start_us);
      u.sessions = keep;
      schedule(u);
    },
    closeMinutes(partition) {
      const c = clocks.get(partition);
      if (!c || c.watermarkUs === null || c.emittedUntilUs === null) return undefined;
      const until = Math.floor(c.watermarkUs / MINUTE_US) * MINUTE_US;
      if (until <= c.emittedUntilUs) return undefined;
      const out = { fromUs: c.emittedUntilUs, untilUs: until };
      c.emittedUntilUs = until;
      return out;
    },
    closeSessions(partition) {
      const c = clocks.get(partition);
      const byMinute = due.get(partition);
      if (!c || c.watermarkUs === null || !byMinute) return [];
      const wm = c.watermarkUs;
      const wmMinute = Math.floor(wm / MINUTE_US);
      // taken out of the queue first: a user checked now may be queued again under the same minute
      const candidates: UserSessions[] = [];
      for (const [minute, set] of byMinute) {
        if (minute > wmMinute) continue;
        for (const u of set) candidates.push(u);
        byMinute.delete(minute);
      }
      const closed: ClosedSession[] = [];
      for (const u of candidates) {
        u.due = undefined;
        let open: SessionState[] | undefined;
        for (const s of u.sessions) {
          if (s.last_us + gapUs <= wm) {
            closed.push({ partition, tenant_id: u.tenant_id, user_id: u.user_id, start_us: s.start_us, last_us: s.last_us, events: s.events });
            open ??= u.sessions.filter((x) => x.last_us + gapUs > wm);
          }
        }
        if (open) {
          if (u.pending >= 0) cow.freeze(u);
          sessionCount -= u.sessions.length - open.length;
          u.sessions = open;
          changed.add(u);
          if (open.length === 0) {
            const m = users.get(partition)?.get(u.tenant_id);
            if (m?.get(u.user_id) === u) m.delete(u.user_id);
            if (m?.size === 0) users.get(partition)!.delete(u.tenant_id);
          }
        }
        schedule(u);
      }
      return closed;
    },
    takeChangedSessions,
    takeChangedSessionsDeferred<T>(encode: (u: Readonly<UserSessions>) => T): DeferredRecords<T> {
      return cow.takeEach(takeChangedSessions(), encode);
    },
    restoreClock(partition, p) {
      clocks.set(partition, { maxEventUs: p.max_event_us, watermarkUs: p.watermark_us, emittedUntilUs: p.emitted_until_us });
    },
    restoreSessions(partition, tenant, user, sessions) {
      const m = usersOf(partition, tenant);
      const before = m.get(user);
      const had = before?.sessions.length ?? 0;
      if (before) unschedule(before);
      if (sessions.length === 0) m.delete(user);
      else {
        const u: UserSessions = { partition, tenant_id: tenant, user_id: user, sessions: sessions.map((s) => ({ ...s })).sort((a, b) => a.start_us - b.start_us), due: undefined, pending: -1 };
        m.set(user, u);
        schedule(u);
      }
      sessionCount += sessions.length - had;
    },
    dropPartition(partition) {
      clocks.delete(partition);
      const byTenant = users.get(partition);
      if (byTenant) for (const m of byTenant.values()) for (const u of m.values()) sessionCount -= u.sessions.length;
      users.delete(partition);
      due.delete(partition);
      for (const u of changed) if (u.partition === partition) changed.delete(u);
    },
    get sessionCount() {
      return sessionCount;
    },
  };
}
