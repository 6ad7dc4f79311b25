import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

/**
 * Nothing from elsewhere: scripts, styles, images and connections (the WebSocket and the APIs) from this origin only.
 * WebAssembly may compile (libsodium, for end-to-end encryption); no inline script or style, no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Page {
  body: Buffer;
  type: string;
  /** Pages are asked for again each time (their bundles' names change); bundles never change under their name. */
  cache: string;
}

/** The pages and their hashed bundles, read once at start: only these names are ever served. */
function pagesIn(dist: string): Map<string, Page> {
  const pages = new Map<string, Page>();
  const page = (path: string, file: string) =>
    pages.set(path, { body: readFileSync(file), type: TYPES['.html']!, cache: 'no-cache' });
  page('/', join(dist, 'chat.html'));
  page('/admin', join(dist, 'admin.html'));
  for (const name of readdirSync(join(dist, 'assets'))) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    pages.set(`/assets/${name}`, {
      body: readFileSync(join(dist, 'assets', name)),
      type,
      cache: 'public, max-age=31536000, immutable',
    });
  }
  return pages;
}

/**
 * The web client (/) and the admin console (/admin) with their bundles, built into `dist` by scripts/build-web.ts.
 * Returns a handler for the gateway's HTTP API list; when nothing was built, / says how to build it.
 */
export function webAppHandler(dist: string) {
  const built = existsSync(join(dist, 'chat.html'));
  const pages = built ? pagesIn(dist) : new Map<string, Page>();
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const page = pages.get(path === '/admin/' ? '/admin' : path);
    if (!page && !(path === '/' || path === '/admin')) return false;
    const headers = {
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'METHOD_NOT_ALLOWED', message: `${path} takes GET, HEAD` }));
      return true;
    }
    if (!page) {
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end('The web client is not built: run `npm run build:web` (npm start does it).\n');
      return true;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': page.type,
      'cache-control': page.cache,
      'content-length': page.body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : page.body);
    return true;
  };
}
