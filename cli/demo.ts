// Demo set-up for `rtap start`: registers the generator's tenants, a platform ingest key so demo
// traffic can flow through the real ingestion API, and a viewer key of the busiest tenant for the
// live dashboard. The keys are kept in the data dir (mode 0600, never printed) and reused while
// the control topic still knows them.
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

export interface DemoKeys {
  /** Platform ingest key the demo traffic is sent with. */
  apiKey: string;
  tenants: number;
  /** The tenant the dashboard key reads (the busiest of the demo's). */
  dashboardTenant: string;
  /** File holding a viewer key of that tenant, for the live dashboard. */
  dashboardKeyFile: string;
}

export async function prepareDemo(cfg: RtapConfig, demo: DemoSettings): Promise<DemoKeys> {
  const control = new ControlPlane(createKafka(cfg.kafka), createLogger('demo'));
  await control.start();
  try {
    const world = new EventGenerator({ seed: demo.seed, tenants: demo.tenants }).world;
    const missing = world.tenants.filter((t) => !control.state.activeTenant(t.id)).map((t) => ({ tenant_id: t.id }));
    if (missing.length > 0) await control.putTenants(missing);
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    /** The key saved in `file`, or a new one saved there when the control topic no longer knows it. */
    const savedKey = async (file: string, create: () => Promise<{ apiKey: string }>): Promise<string> => {
      const saved = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
      if (saved && control.state.authenticate(saved)) return saved;
      const { apiKey } = await create();
      fs.writeFileSync(file, `${apiKey}\n`, { mode: 0o600 });
      return apiKey;
    };
    const apiKey = await savedKey(path.join(cfg.dataDir, 'demo-api-key'), () => control.createApiKey('*', ['ingest'], 'demo traffic (rtap start)'));
    // Zipf: the first tenant sends the most events
    const dashboardTenant = world.tenants[0].id;
    const dashboardKeyFile = path.join(cfg.dataDir, 'demo-dashboard-key');
    await savedKey(dashboardKeyFile, () => control.createApiKey(dashboardTenant, ['viewer'], 'live dashboard (rtap start)'));
    return { apiKey, tenants: world.tenants.length, dashboardTenant, dashboardKeyFile };
  } finally {
    await control.stop();
  }
}
