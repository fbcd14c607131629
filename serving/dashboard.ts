// The live dashboard: a static page (serving/dashboard/) for people who would rather look than
// read. It holds no data and no credential: the browser asks for an API key and then calls the
// same authenticated routes any client does (the realtime dashboard, the WebSocket stream,
// anomalies, SLA), so tenant scoping and roles apply unchanged.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import express, { type Router } from 'express';

/** Scripts, styles and connections from this origin only (the WebSocket included); nothing inline. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, string> = {
  '/dashboard': 'index.html',
  '/dashboard/app.js': 'app.js',
  '/dashboard/style.css': 'style.css',
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export function dashboardRouter(dir: string = path.join(__dirname, 'dashboard')): Router {
  // read once: three small files, served from memory
  const files = new Map(Object.entries(ASSETS).map(([route, file]) => [route, { body: readFileSync(path.join(dir, file)), type: TYPES[path.extname(file)] }]));
  const router = express.Router();
  router.get('/', (_req, res) => res.redirect(302, '/dashboard'));
  for (const [route, file] of files) {
    router.get(route, (_req, res) => {
      res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
      res.setHeader('Cache-Control', 'no-cache');
      res.type(file.type).send(file.body);
    });
  }
  return router;
}
