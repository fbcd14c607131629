// The speed layer's settings are validated once at start-up with the variable's name, and the
// batch cut manifest is read defensively.
import { loadConfig } from '../../core/config';
import { ConfigError } from '../../core/errors';
import { cutOf, parseViewsManifest, viewsManifestKey } from '../../core/lake';
import { parseChangelogKey, progressKey, sessionKey } from '../../core/speed-changelog';

describe('speed layer configuration', () => {
  test('defaults', () => {
    expect(loadConfig({}).speed).toEqual({ allowedLatenessMs: 60_000, commitIntervalMs: 300, sessionGapMs: 1_800_000, dedupHorizonOffsets: 50_000, threads: 1, metricsHost: '127.0.0.1', metricsPort: 9464 });
    expect(loadConfig({ SPEED_THREADS: '2' }).speed.threads).toBe(2);
    expect(() => loadConfig({ SPEED_THREADS: '0' })).toThrow(/SPEED_THREADS/);
    // /metrics moves with the local stack's ports; 0 turns it off; anything else is refused at start-up
    expect(loadConfig({ RTAP_PORT_OFFSET: '100' }).speed.metricsPort).toBe(9564);
    expect(loadConfig({ SPEED_METRICS_PORT: '0' }).speed.metricsPort).toBe(0);
    expect(() => loadConfig({ SPEED_METRICS_PORT: '70000' })).toThrow(/SPEED_METRICS_PORT/);
    // the sink's and the worker's beside it
    expect([loadConfig({}).sink.metricsPort, loadConfig({}).worker.metricsPort]).toEqual([9465, 9466]);
    expect(loadConfig({ RTAP_PORT_OFFSET: '100', WORKER_METRICS_PORT: '0' }).sink.metricsPort).toBe(9565);
    expect(loadConfig({ WORKER_METRICS_PORT: '0' }).worker.metricsPort).toBe(0);
  });
  test('a bad SPEED_ALLOWED_LATENESS_MS is refused with its name and the expected range', () => {
    expect(() => loadConfig({ SPEED_ALLOWED_LATENESS_MS: '-5' })).toThrow(ConfigError);
    expect(() => loadConfig({ SPEED_ALLOWED_LATENESS_MS: '10s' })).toThrow(/SPEED_ALLOWED_LATENESS_MS: expected an integer from 0 to 86400000, got "10s"/);
    expect(loadConfig({ SPEED_ALLOWED_LATENESS_MS: '0', SPEED_COMMIT_INTERVAL_MS: '1000' }).speed).toMatchObject({ allowedLatenessMs: 0, commitIntervalMs: 1000 });
  });
});

describe('views manifest (the published batch cut)', () => {
  test('parses a manifest and refuses malformed ones', () => {
    const m = parseViewsManifest(JSON.stringify({ version: 'v7', cut: { '0': 20000, '3': 0 }, published_at: '2026-11-27T00:00:00Z' }));
    expect(m).toEqual({ version: 'v7', cut: { '0': 20000, '3': 0 }, published_at: '2026-11-27T00:00:00Z' });
    expect([...cutOf(m!)]).toEqual([
      [0, 20000],
      [3, 0],
    ]);
    expect(parseViewsManifest('{"version": 1, "cut": {"x": 1}}')).toBeUndefined();
    expect(parseViewsManifest('{"version": 1, "cut": {"0": -1}}')).toBeUndefined();
    expect(parseViewsManifest('{"cut": {}}')).toBeUndefined();
    expect(parseViewsManifest('nope')).toBeUndefined();
    expect(viewsManifestKey('lake')).toBe('lake/manifests/views/current.json');
  });
});

describe('speed changelog keys', () => {
  test('each kind of record is recognized', () => {
    expect(parseChangelogKey('["event_type_1m","t",0,null,1,2]')).toEqual({ kind: 'cell', key: '["event_type_1m","t",0,null,1,2]' });
    expect(parseChangelogKey(progressKey(3))).toEqual({ kind: 'progress', partition: 3 });
    expect(parseChangelogKey(sessionKey('t:1', 'u"2'))).toEqual({ kind: 'session', tenant_id: 't:1', user_id: 'u"2' });
    expect(parseChangelogKey('h:features:user:t:u')).toEqual({ kind: 'processor', processor: 'features', key: 'user:t:u' });
    expect(parseChangelogKey('zzz')).toBeUndefined();
  });
});
