// The API process.
import type { Server } from 'node:http';
import { config } from '../core/config';
import { createLogger } from '../core/logger';
import { createApp } from './app';

export async function runApi(): Promise<Server> {
  const cfg = config();
  const log = createLogger('api');
  const app = createApp({ cfg });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(cfg.api.port, cfg.api.host, () => resolve(s));
    s.once('error', reject);
  });
  log.info({ url: `http://${cfg.api.host}:${cfg.api.port}` }, 'api listening');
  const shutdown = () => {
    log.info('api shutting down');
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return server;
}
