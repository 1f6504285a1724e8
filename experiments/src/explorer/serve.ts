/**
 * A static file server for the built explorer on localhost (no dependencies): GET/HEAD of files under the site
 * folder, `index.html` for `/`, 404 otherwise (paths outside the folder never resolve). Stopped by its `close()`.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.rgb': 'application/octet-stream',
};

/** A running server. */
export interface SiteServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serve `root` on `host:port` (port 0: any free port). */
export function serveSite(root: string, port = 0, host = '127.0.0.1'): Promise<SiteServer> {
  const base = resolve(root);
  if (!existsSync(join(base, 'index.html'))) throw new Error(`explorer --serve: ${base} holds no built site (no index.html); build it first`);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(base, path === '/' ? 'index.html' : path));
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !(file === base || file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' });
      res.end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(new Error(`explorer --serve: cannot listen on ${host}:${port} (${err.code ?? err.message})`)));
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        url: `http://${host}:${p}/`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
