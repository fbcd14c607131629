// HTTP hardening applied before anything else sees a request: security headers (helmet, set for
// a JSON API that never serves HTML), a strict CORS allow-list, and a cap on the request target so
// an oversized URL or query string is refused before routing or validation spend time on it.
// Body limits live with their parsers (serving/app.ts for JSON, the ingestion reader for events).
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { ApiConfig } from '../../core/config';
import { sendError } from '../errors';

export interface HardeningOptions {
  /** Exact browser origins allowed to call the API; empty = no cross-origin access. */
  corsOrigins: readonly string[];
  /** Whether the API is served over TLS (then browsers are told to keep to HTTPS). */
  tls: boolean;
}

/** Longest request target (path + query) accepted; beyond it 414. Query parameters are short ids, dates and enums. */
export const MAX_URL_BYTES = 8 * 1024;

/** Request headers a browser may send cross-origin: credentials, content negotiation and encodings. */
const CORS_ALLOWED_HEADERS = 'authorization, x-api-key, content-type, content-encoding, accept';
/** Response headers a browser script may read: rate limits, async job locations, content types. */
const CORS_EXPOSED_HEADERS = 'retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, location, content-disposition';
const CORS_METHODS = 'GET, POST, PUT, DELETE';

export function hardening(opts: HardeningOptions): RequestHandler[] {
  const headers = helmet({
    // An API answers JSON, CSV, Parquet and Arrow: no document may load anything or be framed.
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: opts.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    // HSTS only means something over TLS; over plain HTTP browsers ignore it.
    strictTransportSecurity: opts.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  return [urlLimit, headers, cors(opts.corsOrigins)];
}

function urlLimit(req: Request, res: Response, next: NextFunction): void {
  if (Buffer.byteLength(req.originalUrl) > MAX_URL_BYTES) {
    sendError(res, 414, 'uri_too_long', `the request target is longer than ${MAX_URL_BYTES} bytes`);
    return;
  }
  next();
}

/**
 * Allowed origins get the CORS headers (and their preflights a 204); a preflight from any other
 * origin is refused with 403 so the browser never sends the real request. A request without an
 * Origin (servers, curl, SDKs) is untouched: CORS only governs browsers.
 */
export function cors(allowed: readonly string[]): RequestHandler {
  const origins = new Set(allowed);
  return (req, res, next) => {
    const origin = req.header('origin');
    if (origin === undefined) return next();
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.header('access-control-request-method') !== undefined;
    if (!origins.has(origin)) {
      if (preflight) return sendError(res, 403, 'cors_origin_not_allowed', `origin ${JSON.stringify(origin.slice(0, 200))} is not in API_CORS_ORIGINS`);
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
    if (!preflight) return next();
    res.setHeader('Access-Control-Allow-Methods', CORS_METHODS);
    res.setHeader('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

/** The API's server: HTTPS when a certificate and key are configured (TLS 1.2 at least), else HTTP. */
export function createServer(app: Express, api: Pick<ApiConfig, 'tls'>): http.Server {
  if (!api.tls) return http.createServer(app);
  return https.createServer({ cert: readFileSync(api.tls.certFile), key: readFileSync(api.tls.keyFile), minVersion: 'TLSv1.2' }, app);
}
