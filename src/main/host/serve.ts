// Browser mode: serves the built UI and a WebSocket that speaks the protocol to the engine process,
// like a notebook server. The token lives in the page's URL only (never a cookie: cookies for
// 127.0.0.1 go to every port, so any other local server would receive it). Only the WebSocket reaches
// the engine, and it needs the token, the page's own Origin and a Host that names this server (a
// rebound DNS name does not). The page needs the token too, so that a bare URL says how to get one;
// the UI's scripts and styles are public, like the source they are built from.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import * as path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LabError, toErrorData } from '../../shared/errors';
import { MAX_FRAME_BYTES } from '../../shared/limits';
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
  /** The recordings library's folder (default: the models folder's sibling `recordings/`). */
  recordingsDir?: string;
  backend?: string | null;
  engineEnv?: Record<string, string>;
  /** Unsent bytes to one client above which it counts as not reading (default 64 MiB). */
  queueLimitBytes?: number;
  /** How long a client may stay above queueLimitBytes before it is dropped (default 10 s; 0: at once). */
  queueStallMs?: number;
  /** Hears each client dropped for not reading, with the reason it was given (logs, tests). */
  onClientDropped?: (reason: string) => void;
}

export interface LabServer {
  url: string;
  token: string;
  port: number;
  supervisor: EngineSupervisor;
  close(): Promise<void>;
}

const DEFAULT_QUEUE_LIMIT_BYTES = 64 * 2 ** 20;
const DEFAULT_QUEUE_STALL_MS = 10_000;
/** Past this many unsent bytes a client is dropped at once: no legitimate frame is bigger. */
const HARD_QUEUE_LIMIT_BYTES = MAX_FRAME_BYTES;
/** A dropped client gets this long to read its close frame before its socket (and buffer) go. */
const DROP_GRACE_MS = 5000;

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

/** Scripts and connections only from this server ('self' covers ws: to the same host and port). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function sameToken(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The path (percent-decoded) and query of a request target; null when it is not an origin-form path. */
export function parseTarget(url: string | undefined): { path: string; query: URLSearchParams } | null {
  // Parsed by hand: `new URL()` throws on targets like "//", and a throw must never reach the process.
  if (!url || !url.startsWith('/')) return null;
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  return { path: decoded, query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

/** Binding every interface: the UI is reached by whatever address the other machine uses. */
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';

/**
 * Whether a Host header names this server: a loopback name, the --host value, or (bound to every
 * interface) an IP literal or this machine's name, each at `port`. Anything else is a DNS name that
 * may have been rebound to this address by another site, and is refused.
 */
export function allowedHost(header: string | undefined, bindHost: string, port: number, hostname = os.hostname()): boolean {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(header ?? '');
  if (!m) return false;
  if (Number(m[3] ?? 80) !== port) return false;
  const name = (m[1] ?? m[2]).toLowerCase();
  const bind = bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK.includes(name) || name === bind) return true;
  return isWildcard(bind) && (isIP(name) !== 0 || name === hostname.toLowerCase());
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
  const supervisor = new EngineSupervisor({ modelsDir: o.modelsDir, recordingsDir: o.recordingsDir, backend: o.backend, env: o.engineEnv });
  await supervisor.start();

  const server = createServer((req, res) => {
    // A bad request costs one error reply (or one closed socket), never the process.
    serveHttp(req, res).catch((e: unknown) => {
      process.stderr.write(`sequence-lab: HTTP ${req.method} failed: ${(e as Error).message}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal error\n');
      else res.destroy();
    });
  });
  let port = 0; // known once listening, before any request
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  /** Each open connection, and since when it has had more than queueLimit bytes unsent (null: not now). */
  const clients = new Map<WebSocket, { overSince: number | null }>();
  /** Clients dropped for not reading, until their sockets are gone. */
  const dropped = new Set<WebSocket>();
  const queueLimit = o.queueLimitBytes ?? DEFAULT_QUEUE_LIMIT_BYTES;
  const stallMs = o.queueStallMs ?? DEFAULT_QUEUE_STALL_MS;

  function plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(text);
  }

  async function serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHost(req.headers.host, host, port)) return plain(res, 403, `Forbidden: Host "${req.headers.host ?? ''}" is not this server\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, `Method ${req.method} not allowed\n`);
    const target = parseTarget(req.url);
    if (!target) return plain(res, 400, 'Bad request: the path is not a valid URL path\n');
    const headers: Record<string, string> = {
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer', // the page's URL holds the token
      // Cross-origin isolation: the page may then share a SharedArrayBuffer with the playback worklet.
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    };
    const rel = target.path === '/' ? '/index.html' : target.path;
    if (rel === '/index.html') {
      const given = target.query.get('token');
      if (!sameToken(given, token)) {
        if (given) return plain(res, 403, 'Forbidden: wrong token\n');
        return plain(res, 401, 'Unauthorized: open the URL with ?token=... that `sequence-lab serve` printed\n');
      }
    }
    if (rel === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    const file = path.resolve(staticDir, '.' + rel);
    if (!file.startsWith(staticDir + path.sep)) return plain(res, 404, 'Not found\n');
    let body: Buffer;
    try {
      body = await fs.readFile(file);
    } catch {
      return plain(res, 404, 'Not found\n');
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // CONNECT (a proxy request) would otherwise leave the socket to time out, unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without an error listener: a reset here would end the process.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    try {
      if (!allowedHost(req.headers.host, host, port)) return refuse(403, 'Forbidden');
      const target = parseTarget(req.url);
      if (!target) return refuse(400, 'Bad Request');
      if (target.path !== '/ws') return refuse(404, 'Not Found');
      const given = target.query.get('token');
      if (!sameToken(given, token)) return given ? refuse(403, 'Forbidden') : refuse(401, 'Unauthorized');
      // Only the page this server served may drive the engine: not another site, not another local
      // server's page (another port), not a client that sends no Origin at all.
      if (req.headers.origin !== `http://${req.headers.host!.toLowerCase()}`) return refuse(403, 'Forbidden');
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
    } catch (e) {
      process.stderr.write(`sequence-lab: WebSocket upgrade failed: ${(e as Error).message}\n`);
      refuse(500, 'Internal Server Error');
    }
  });

  /**
   * Sends a frame unless the client has stopped reading. Events go to every client, so one that
   * reads nothing would otherwise hold every generated sample in this process: past the queue limit
   * for stallMs (or past the hard limit at once) it is dropped with 1008 and a reason; the server,
   * and every other client, go on.
   */
  function send(ws: WebSocket, frame: ArrayBuffer): void {
    const c = clients.get(ws);
    if (!c || ws.readyState !== ws.OPEN) return;
    const unsent = ws.bufferedAmount;
    if (unsent <= queueLimit) c.overSince = null;
    else {
      c.overSince ??= Date.now();
      const stalledMs = Date.now() - c.overSince;
      if (unsent > HARD_QUEUE_LIMIT_BYTES || stalledMs >= stallMs) {
        return drop(ws, `Dropped: this client stopped reading (${(unsent / 2 ** 20).toFixed(0)} MB unsent for ${(stalledMs / 1000).toFixed(0)} s)`);
      }
    }
    ws.send(frame);
  }

  function drop(ws: WebSocket, reason: string): void {
    clients.delete(ws);
    dropped.add(ws);
    process.stderr.write(`sequence-lab: ${reason}\n`);
    ws.close(1008, reason);
    // A client that reads nothing will not read the close frame either: free its buffer soon.
    setTimeout(() => ws.terminate(), DROP_GRACE_MS).unref();
    o.onClientDropped?.(reason);
  }

  function reply(ws: WebSocket, r: Response): void {
    try {
      send(ws, encodeFrame(r));
    } catch (e) {
      process.stderr.write(`sequence-lab: could not send response ${r.id}: ${(e as Error).message}\n`);
    }
  }

  function onConnection(ws: WebSocket): void {
    clients.set(ws, { overSince: null });
    ws.on('close', () => {
      clients.delete(ws);
      dropped.delete(ws);
    });
    // Protocol errors (invalid UTF-8, a frame over maxPayload, a bad opcode): ws itself sends the
    // matching close code (1007, 1009, 1002) and ends this socket. The listener only has to exist:
    // without one, the 'error' event would end the process.
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => void handle(ws, data, isBinary));
  }

  async function handle(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    let id = -1;
    try {
      if (!isBinary) throw new LabError('bad_message', 'Expected a binary frame (see src/shared/wire.ts), got a text frame');
      const decoded = decodeFrame(data as Buffer);
      // Answer under the caller's id whenever it gave one, even if the rest of the message is wrong.
      const claimed = (decoded as { id?: unknown } | null)?.id;
      if (Number.isInteger(claimed)) id = claimed as number;
      let m;
      try {
        m = parseMessage(decoded);
      } catch (e) {
        throw new LabError('bad_message', (e as Error).message);
      }
      if (m.kind !== 'request') throw new LabError('bad_message', `Clients send requests, not ${m.kind}s`);
      if (!isCommandName(m.command)) throw new LabError('bad_message', `Unknown command "${m.command}"`);
      const result = await supervisor.forward(m.command, m.args);
      reply(ws, { kind: 'response', id, ok: true, result });
    } catch (e) {
      reply(ws, { kind: 'response', id, ok: false, error: toErrorData(e) });
    }
  }

  supervisor.on((e) => {
    let frame: ArrayBuffer;
    try {
      frame = encodeFrame({ kind: 'event', event: e.event, payload: e.payload });
    } catch (err) {
      process.stderr.write(`sequence-lab: could not encode a ${e.event} event: ${(err as Error).message}\n`);
      return;
    }
    for (const ws of [...clients.keys()]) send(ws, frame);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    supervisor,
    close: async () => {
      for (const ws of [...clients.keys(), ...dropped]) ws.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await supervisor.stop();
    },
  };
}
