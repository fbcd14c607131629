// Demo set-up for `rtap start`: registers the generator's tenants and a platform ingest key, so
// demo traffic can flow through the real ingestion API. The key is kept in the data dir and
// reused while the control topic still knows it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RtapConfig } from '../core/config';
import { ControlPlane } from '../core/control';
import { createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { EventGenerator } from '../generator/generator';

export interface DemoSettings {
  tenants: number;
  seed: number;
}

export async function prepareDemo(cfg: RtapConfig, demo: DemoSettings): Promise<{ apiKey: string; tenants: number }> {
  const control = new ControlPlane(createKafka(cfg.kafka), createLogger('demo'));
  await control.start();
  try {
    const world = new EventGenerator({ seed: demo.seed, tenants: demo.tenants }).world;
    const missing = world.tenants.filter((t) => !control.state.activeTenant(t.id)).map((t) => ({ tenant_id: t.id }));
    if (missing.length > 0) await control.putTenants(missing);
    const keyFile = path.join(cfg.dataDir, 'demo-api-key');
    const saved = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : '';
    if (saved && control.state.authenticate(saved)) return { apiKey: saved, tenants: world.tenants.length };
    const { apiKey } = await control.createApiKey('*', ['ingest'], 'demo traffic (rtap start)');
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    fs.writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
    return { apiKey, tenants: world.tenants.length };
  } finally {
    await control.stop();
  }
}
