// Browser mode: serves the built UI and a WebSocket that speaks the protocol to the engine process,
// like a notebook server. Every HTTP request and WebSocket upgrade needs the token (query string,
// or the cookie set when the tokened URL is first opened); WebSocket origins must be this server's.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { toErrorData } from '../../shared/errors';
import { isCommandName, parseMessage, type Response } from '../../shared/protocol';
import { decodeFrame, encodeFrame } from '../../shared/wire';
import { EngineSupervisor } from './engine-supervisor';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Fixed token (tests); a random one otherwise. */
  token?: string;
  /** The built renderer (index.html and assets). */
  staticDir: string;
  modelsDir: string;
  backend?: string | null;
  engineEnv?: Record<string, string>;
}

export interface LabServer {
  url: string;
  token: string;
  port: number;
  supervisor: EngineSupervisor;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

const COOKIE = 'seqlab_token';

/** Same policy as the desktop window: scripts and connections only from this server. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function sameToken(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function tokenOf(req: IncomingMessage): { fromQuery: string | null; fromCookie: string | null } {
  const url = new URL(req.url ?? '/', 'http://x');
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).find(([k]) => k === COOKIE);
  return { fromQuery: url.searchParams.get('token'), fromCookie: cookie ? decodeURIComponent(cookie[1] ?? '') : null };
}

export async function startServer(o: ServeOptions): Promise<LabServer> {
  const host = o.host ?? '127.0.0.1';
  const token = o.token ?? randomBytes(24).toString('hex');
  const staticDir = path.resolve(o.staticDir);
  try {
    await fs.access(path.join(staticDir, 'index.html'));
  } catch {
    throw new Error(`The UI is not built: ${path.join(staticDir, 'index.html')} is missing (run npm run build:web)`);
  }
  const supervisor = new EngineSupervisor({ modelsDir: o.modelsDir, backend: o.backend, env: o.engineEnv });
  await supervisor.start();

  const server = createServer((req, res) => void serveHttp(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024 });
  const clients = new Set<WebSocket>();

  async function serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { fromQuery, fromCookie } = tokenOf(req);
    const ok = sameToken(fromQuery, token) || sameToken(fromCookie, token);
    if (!ok) {
      res.writeHead(fromQuery || fromCookie ? 403 : 401, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(fromQuery || fromCookie ? 'Forbidden: wrong token\n' : 'Unauthorized: open the URL with ?token=... that `sequence-lab serve` printed\n');
      return;
    }
    const headers: Record<string, string> = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
    if (sameToken(fromQuery, token)) headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(staticDir, '.' + rel);
    if (!file.startsWith(staticDir + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    }
  }

  server.on('upgrade', (req, socket, head) => {
    const { fromQuery, fromCookie } = tokenOf(req);
    const origin = req.headers.origin;
    const refuse = (status: number, text: string) => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (!sameToken(fromQuery, token) && !sameToken(fromCookie, token)) return refuse(fromQuery || fromCookie ? 403 : 401, fromQuery || fromCookie ? 'Forbidden' : 'Unauthorized');
    // A page from another site may not drive the engine: the Origin must be the page this server served.
    if (origin && origin !== `http://${req.headers.host}`) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  function reply(ws: WebSocket, r: Response): void {
    if (ws.readyState === ws.OPEN) ws.send(encodeFrame(r));
  }

  function onConnection(ws: WebSocket): void {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (data, isBinary) => {
      let id = -1;
      void (async () => {
        try {
          if (!isBinary) throw Object.assign(new Error('Expected a binary frame'), { code: 'bad_message' });
          const m = parseMessage(decodeFrame(data as Buffer));
          if (m.kind !== 'request') throw Object.assign(new Error(`Clients send requests, not ${m.kind}s`), { code: 'bad_message' });
          id = m.id;
          if (!isCommandName(m.command)) throw Object.assign(new Error(`Unknown command "${m.command}"`), { code: 'bad_message' });
          const result = await supervisor.forward(m.command, m.args);
          reply(ws, { kind: 'response', id, ok: true, result });
        } catch (e) {
          const code = (e as { code?: string }).code;
          reply(ws, { kind: 'response', id, ok: false, error: code ? { code, message: (e as Error).message } : toErrorData(e) });
        }
      })();
    });
  }

  supervisor.on((e) => {
    const frame = encodeFrame({ kind: 'event', event: e.event, payload: e.payload });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(frame);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    supervisor,
    close: async () => {
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await supervisor.stop();
    },
  };
}
