// Hostile input against the browser-mode server: requests that used to end the process, connections
// that could reach the engine from another page, a client that stops reading, and a seeded fuzz of
// HTTP and WebSocket bytes. Whatever comes in, the server answers or closes that one connection, and
// afterwards still answers a well-formed engine.info and models.list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { allowedHost, startServer, type LabServer } from '../../src/main/host/serve';
import { MAX_FRAME_BYTES } from '../../src/shared/limits';
import { COMMAND_NAMES } from '../../src/shared/protocol';
import { decodeFrame, encodeFrame } from '../../src/shared/wire';
import { ensureWebBuilt, useBackend } from './helpers';

let server: LabServer;
let models: string;
/** Hears the reason given to the next client dropped for not reading. */
let onDrop: (reason: string) => void = () => {};

interface RawReply {
  /** The status code of the first response line; null when the server closed without answering. */
  status: number | null;
  head: string;
  body: string;
}

/** Sends raw bytes (no client-side clean-up of paths or headers) and reads until the server closes. */
function rawHttp(request: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer within ${timeoutMs} ms to ${JSON.stringify(String(request).slice(0, 80))}`));
    }, timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {}); // a reset counts as the server closing this connection
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, body = ''] = text.split('\r\n\r\n', 2);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : null, head, body });
    });
    socket.write(request);
  });
}

function get(target: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const all = { host: `127.0.0.1:${server.port}`, connection: 'close', ...headers };
  return rawHttp(`GET ${target} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
}

let nextId = 1;

/** One request over a fresh `ws`-free connection; resolves with the response frame. */
async function ask(command: string, args: unknown = {}): Promise<{ ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string } }> {
  const c = await RawWs.open();
  try {
    const id = nextId++;
    c.send(2, Buffer.from(encodeFrame({ kind: 'request', id, command, args })));
    for (;;) {
      const f = await c.next();
      if (f.opcode !== 2) throw new Error(`Expected a binary frame, got opcode ${f.opcode}`);
      const m = decodeFrame(f.payload) as { kind: string; id?: number; ok: boolean };
      if (m.kind === 'response' && m.id === id) return m;
    }
  } finally {
    c.socket.destroy();
  }
}

/** The server answers both read-only commands: it and its engine are alive. */
async function expectServing(): Promise<void> {
  const info = await ask('engine.info');
  expect(info.ok).toBe(true);
  expect(info.result!.backend).toBe('wasm');
  const list = await ask('models.list');
  expect(list.ok).toBe(true);
  expect(Array.isArray(list.result!.models)).toBe(true);
}

interface WsFrame {
  opcode: number;
  payload: Buffer;
}

/** A WebSocket client on a raw socket: it sends any bytes, and parses the server's (unmasked) frames. */
class RawWs {
  private buf = Buffer.alloc(0);
  private readonly frames: WsFrame[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.waiter?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** Opens /ws with the token, this server's Host and Origin unless overridden. */
  static open(o: { target?: string; headers?: Record<string, string> } = {}): Promise<RawWs> {
    const host = `127.0.0.1:${server.port}`;
    const headers: Record<string, string> = {
      host,
      origin: `http://${host}`,
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      ...o.headers,
    };
    const request = `GET ${o.target ?? `/ws?token=${server.token}`} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1');
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1]);
        if (status !== 101) {
          socket.destroy();
          return reject(Object.assign(new Error(`Upgrade refused: HTTP ${status}`), { status }));
        }
        const ws = new RawWs(socket);
        ws.buf = head.subarray(end + 4);
        ws.parse();
        resolve(ws);
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => reject(Object.assign(new Error('Closed during the upgrade'), { status: null })));
      socket.write(request);
    });
  }

  private parse(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      this.frames.push({ opcode: b[0] & 0x0f, payload: b.subarray(at, at + len) });
      this.buf = b.subarray(at + len);
    }
  }

  /** The next frame from the server; rejects when the connection closes first. */
  async next(timeoutMs = 10_000): Promise<WsFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.closed) throw new Error('The server closed the connection');
      if (Date.now() > deadline) throw new Error('No frame from the server in time');
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now() + 1);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          r();
        };
      });
    }
  }

  /** Resolves with the close frame the server sent (code null: the socket ended without one). */
  async closeFrame(timeoutMs = 10_000): Promise<{ code: number | null; reason: string }> {
    for (;;) {
      let f: WsFrame;
      try {
        f = await this.next(timeoutMs);
      } catch (e) {
        if (this.closed) return { code: null, reason: '' };
        throw e;
      }
      if (f.opcode === 8) return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null, reason: f.payload.subarray(2).toString('utf8') };
    }
  }

  /** Resolves when the connection is closed at both ends; rejects if the server keeps it open. */
  async whenClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      this.frames.length = 0;
      if (Date.now() > deadline) throw new Error('The server kept the connection open');
      await this.next(deadline - Date.now()).catch(() => {});
    }
  }

  async closeCode(timeoutMs = 10_000): Promise<number | null> {
    return (await this.closeFrame(timeoutMs)).code;
  }

  /** Writes one client frame: masked unless told otherwise; `declaredLength` may lie about the payload. */
  send(opcode: number, payload: Buffer, o: { fin?: boolean; mask?: boolean; rsv?: number; declaredLength?: number } = {}): void {
    const len = o.declaredLength ?? payload.length;
    const mask = o.mask ?? true;
    const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
    const m = mask ? 0x80 : 0;
    if (len < 126) head.push(m | len);
    else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
    else {
      const l = Buffer.alloc(8);
      l.writeBigUInt64BE(BigInt(len));
      head.push(m | 127, ...l);
    }
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const body = mask ? Buffer.from(payload.map((x, i) => x ^ key[i % 4])) : payload;
    this.socket.write(Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]));
  }
}

beforeAll(async () => {
  await useBackend();
  const staticDir = await ensureWebBuilt();
  models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-hostile-'));
  // A small queue limit, and no grace, so that a client that stops reading is dropped quickly.
  server = await startServer({ staticDir, modelsDir: models, backend: 'wasm', port: 0, queueLimitBytes: 2 ** 20, queueStallMs: 0, onClientDropped: (r) => onDrop(r) });
}, 120_000);
afterAll(async () => {
  await server?.close();
  if (models) await fs.rm(models, { recursive: true, force: true });
});

describe('browser-mode server under hostile input', () => {
  it('answers paths and cookies that are not valid URLs or percent-encoding, and keeps serving', async () => {
    expect((await get('//')).status).toBe(404);
    expect((await get('/', { cookie: 'seqlab_token=%' })).status).toBe(401);
    expect((await get(`/%zz?token=${server.token}`)).status).toBe(400);
    expect((await get('http://127.0.0.1/')).status).toBe(400);
    await expectServing();
  });

  it('answers WebSocket upgrades to such paths with one refusal, and keeps serving', async () => {
    await expect(RawWs.open({ target: '//' })).rejects.toMatchObject({ status: 404 });
    await expect(RawWs.open({ target: `/%zz?token=${server.token}` })).rejects.toMatchObject({ status: 400 });
    await expect(RawWs.open({ target: '/ws', headers: { cookie: 'seqlab_token=%' } })).rejects.toMatchObject({ status: 401 });
    await expectServing();
  });

  it('closes one connection on a WebSocket protocol error (invalid UTF-8, oversize frame), and keeps serving', async () => {
    const bad = await RawWs.open();
    bad.send(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])); // a text frame that is not UTF-8
    expect(await bad.closeCode()).toBe(1007);
    const big = await RawWs.open();
    big.send(2, Buffer.alloc(0), { declaredLength: MAX_FRAME_BYTES + 1 }); // the header alone is enough
    expect(await big.closeCode()).toBe(1009);
    await expectServing();
  });

  it('answers frames it cannot use with an error reply on the same connection', async () => {
    const c = await RawWs.open();
    const reply = async () => decodeFrame((await c.next()).payload) as { id: number; ok: boolean; error: { code: string; message: string } };
    c.send(1, Buffer.from('{"kind":"request","id":1,"command":"engine.info","args":{}}'));
    expect(await reply()).toMatchObject({ id: -1, ok: false, error: { code: 'bad_message', message: /binary frame/ } });
    c.send(2, Buffer.from([9, 0, 0, 0, 0x7b])); // declares 9 bytes of JSON, holds 1
    expect(await reply()).toMatchObject({ id: -1, ok: false, error: { code: 'bad_message', message: /declares 9 bytes/ } });
    c.send(2, Buffer.from(encodeFrame({ kind: 'request', id: 7, command: 'engine.info' })));
    expect(await reply()).toMatchObject({ id: 7, ok: false, error: { code: 'bad_message', message: /Malformed message/ } });
    c.send(2, Buffer.from(encodeFrame({ kind: 'event', event: 'engine.status', payload: {} })));
    expect(await reply()).toMatchObject({ id: -1, ok: false, error: { code: 'bad_message', message: /requests, not events/ } });
    c.socket.destroy();
  });

  it('never puts the token in a cookie, and a cookie holding it opens nothing', async () => {
    const page = await get(`/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.head).not.toMatch(/set-cookie/i);
    const cookie = `seqlab_token=${server.token}`;
    expect((await get('/', { cookie })).status).toBe(401);
    await expect(RawWs.open({ target: '/ws', headers: { cookie } })).rejects.toMatchObject({ status: 401 });
  });

  it("opens the WebSocket only for the page's own Origin", async () => {
    const port = server.port;
    // Another local server (another port), a tool without an Origin, a sandboxed page: all refused.
    for (const origin of [`http://127.0.0.1:${port + 1}`, `http://localhost:${port}`, 'null', `https://127.0.0.1:${port}`]) {
      await expect(RawWs.open({ headers: { origin } }), origin).rejects.toMatchObject({ status: 403 });
    }
    await expect(RawWs.open({ headers: { origin: '' } })).rejects.toMatchObject({ status: 403 });
    const viaLocalhost = await RawWs.open({ headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } });
    viaLocalhost.socket.destroy();
  });

  it('refuses requests addressed to another host name (DNS rebinding), on HTTP and WebSocket', async () => {
    const host = `rebind.example:${server.port}`;
    const page = await get(`/?token=${server.token}`, { host });
    expect(page.status).toBe(403);
    expect(page.body).toMatch(/Host "rebind\.example:\d+" is not this server/);
    expect((await get('/assets/', { host })).status).toBe(403);
    await expect(RawWs.open({ headers: { host, origin: `http://${host}` } })).rejects.toMatchObject({ status: 403 });
    expect((await get(`/?token=${server.token}`, { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('serves the page with the token and its static files without; the page may connect only to itself', async () => {
    const page = await get(`/?token=${server.token}`);
    const csp = /content-security-policy: (.*)/i.exec(page.head)![1];
    expect(csp).toMatch(/connect-src 'self';/);
    expect(csp).not.toMatch(/ws:|wss:/);
    expect((await get('/')).status).toBe(401);
    expect((await get('/index.html?token=nope')).status).toBe(403);
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.body)![1];
    expect((await get(`/${asset}`)).status).toBe(200);
    expect((await get('/assets/nothing-here.js')).status).toBe(404);
    expect((await get('/../package.json')).status).toBe(404);
    expect((await get('/%2e%2e/package.json')).status).toBe(404);
  });
});

describe('a client that stops reading', () => {
  it('is dropped with a reason once its unsent replies pass the limit; the server and other clients go on', async () => {
    const stalled = await RawWs.open();
    stalled.socket.pause(); // reads nothing from here on: the server's replies pile up
    const watcher = await RawWs.open();
    const dropped = new Promise<string>((resolve) => (onDrop = resolve));
    // Replies the server makes without the engine: each error names the unknown command, so 24
    // commands of 1 MB bring 24 MB of replies, more than the kernel's socket buffers hold.
    const name = 'x'.repeat(2 ** 20);
    for (let i = 0; i < 24; i++) stalled.send(2, Buffer.from(encodeFrame({ kind: 'request', id: 100 + i, command: name, args: {} })));
    const reason = await dropped;
    expect(reason).toMatch(/^Dropped: this client stopped reading \(\d+ MB unsent for \d+ s\)$/);
    await expectServing();
    stalled.socket.resume();
    expect(await stalled.closeFrame()).toEqual({ code: 1008, reason });
    // The other client was not touched.
    watcher.send(2, Buffer.from(encodeFrame({ kind: 'request', id: 1, command: 'models.list', args: {} })));
    expect((decodeFrame((await watcher.next()).payload) as { ok: boolean }).ok).toBe(true);
    watcher.socket.destroy();
  });
});

/** Reads just the status line of a reply (101 leaves the socket open), then closes the socket. */
function rawStatus(request: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer within 5 s to ${JSON.stringify(request.slice(0, 200))}`));
    }, 5000);
    const done = (status: number | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (d) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m) done(Number(m[1]));
      else if (head.length > 12) done(null);
    });
    socket.on('error', () => {});
    socket.on('close', () => done(null));
    socket.write(request, 'latin1');
  });
}

// Pieces that have broken URL parsers, decoders and path checks before, mixed with arbitrary text.
const pathPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/', '//', '%', '%zz', '%2e%2e', '%2f', '..', '?', '&', '#', '%00', 'token=', 'ws', 'index.html', 'assets', '@', ':', '\\') },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,6}$/) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom(' ', '\u00e9', '\u{1f600}', '\t'), fc.string({ unit: 'binary-ascii', maxLength: 4 })) },
);
const fuzzPath = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('/', '/index.html', '/ws', '/favicon.ico', '/assets/') },
  { weight: 4, arbitrary: fc.array(pathPiece, { maxLength: 8 }).map((p) => '/' + p.join('')) },
  { weight: 1, arbitrary: fc.array(pathPiece, { maxLength: 8 }).map((p) => p.join('')) },
);
/** Header text, mostly printable, sometimes any byte but CR or LF (those would start a second request). */
const headerText = (max: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.string({ maxLength: max }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: max }).map((t) => t.replace(/[\r\n]/g, '')) },
  );

describe('fuzzing (seeded, bounded)', () => {
  it('answers every HTTP request line and header set with a status, never a 500, and keeps serving', async () => {
    const port = server.port;
    const right = () => server.token;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('HEAD', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'CONNECT', 'BREW', 'G\u00c9T', '') }),
        fuzzPath,
        fc.option(fc.oneof({ weight: 3, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: headerText(20) }), { nil: undefined, freq: 3 }),
        fc.option(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant(`127.0.0.1:${port}`) },
            { weight: 1, arbitrary: fc.constantFrom(`localhost:${port}`, `rebind.example:${port}`, '127.0.0.1', `[::1]:${port}`) },
            { weight: 1, arbitrary: headerText(30) },
          ),
          { nil: undefined, freq: 10 },
        ),
        fc.option(fc.oneof(fc.constant('seqlab_token=%'), fc.constant('seqlab_token=right'), headerText(40)), { nil: undefined }),
        fc.option(fc.oneof({ weight: 3, arbitrary: fc.constant(`http://127.0.0.1:${port}`) }, { weight: 1, arbitrary: fc.constant('null') }, { weight: 1, arbitrary: headerText(30) }), { nil: undefined }),
        fc.boolean(),
        fc.array(
          fc.tuple(
            fc.oneof({ weight: 8, arbitrary: fc.constantFrom('X-Forwarded-Host', 'Referer', 'Accept', 'Sec-WebSocket-Protocol', 'Range') }, { weight: 1, arbitrary: headerText(12) }),
            headerText(40),
          ),
          { maxLength: 2 },
        ),
        async (method, target, token, host, cookie, origin, upgrade, extra) => {
          const withToken = token === undefined ? target : `${target}${target.includes('?') ? '&' : '?'}token=${token === 'right' ? right() : token}`;
          const headers: [string, string][] = [];
          if (host !== undefined) headers.push(['Host', host]);
          if (cookie !== undefined) headers.push(['Cookie', cookie.replace('right', right())]);
          if (origin !== undefined) headers.push(['Origin', origin]);
          if (upgrade) headers.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']);
          else headers.push(['Connection', 'close']);
          headers.push(...extra);
          const request = `${method} ${withToken} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
          const status = await rawStatus(request);
          // A status for every request (Node's own 400 for what it cannot parse); a 500 would be a bug here.
          expect(status, request).not.toBeNull();
          expect([101, 200, 204, 400, 401, 403, 404, 405, 431, 505], request).toContain(status);
        },
      ),
      { numRuns: 200, seed: 20240607, endOnFailure: true },
    );
    await expectServing();
  });

  it('answers or closes every WebSocket frame, valid or not, and keeps serving', async () => {
    type Case =
      | { t: 'binary'; bytes: Uint8Array }
      | { t: 'message'; value: unknown }
      | { t: 'request'; id: number; command: string; args: unknown }
      | { t: 'text'; text: string }
      | { t: 'badUtf8'; bytes: Uint8Array }
      | { t: 'oversize'; declared: number }
      | { t: 'unmasked'; bytes: Uint8Array }
      | { t: 'badOpcode'; opcode: number }
      | { t: 'rsv'; rsv: number }
      | { t: 'orphanContinuation'; bytes: Uint8Array }
      | { t: 'longPing'; bytes: Uint8Array }
      | { t: 'truncated'; declared: number; bytes: Uint8Array }
      | { t: 'raw'; bytes: Uint8Array };
    const bytes = (max: number) => fc.uint8Array({ maxLength: max });
    const arb: fc.Arbitrary<Case> = fc.oneof(
      fc.record({ t: fc.constant('binary' as const), bytes: bytes(300) }),
      fc.record({ t: fc.constant('message' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({
        t: fc.constant('request' as const),
        id: fc.integer(),
        command: fc.oneof(fc.constantFrom(...COMMAND_NAMES), fc.string({ maxLength: 20 })),
        args: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ name: fc.string({ maxLength: 10 }), samples: fc.float32Array({ maxLength: 20 }) })),
      }),
      fc.record({ t: fc.constant('text' as const), text: fc.string({ maxLength: 200 }) }),
      fc.record({ t: fc.constant('badUtf8' as const), bytes: bytes(50).map((b) => Uint8Array.from([0x41, 0xff, ...b])) }),
      fc.record({ t: fc.constant('oversize' as const), declared: fc.integer({ min: MAX_FRAME_BYTES + 1, max: Number.MAX_SAFE_INTEGER }) }),
      fc.record({ t: fc.constant('unmasked' as const), bytes: bytes(50) }),
      fc.record({ t: fc.constant('badOpcode' as const), opcode: fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15) }),
      fc.record({ t: fc.constant('rsv' as const), rsv: fc.integer({ min: 1, max: 7 }) }),
      fc.record({ t: fc.constant('orphanContinuation' as const), bytes: bytes(20) }),
      fc.record({ t: fc.constant('longPing' as const), bytes: fc.uint8Array({ minLength: 126, maxLength: 200 }) }),
      fc.record({ t: fc.constant('truncated' as const), declared: fc.integer({ min: 10, max: 100_000 }), bytes: bytes(9) }),
      fc.record({ t: fc.constant('raw' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 100 }) }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const ws = await RawWs.open();
        try {
          const reply = async () => {
            const f = await ws.next();
            expect(f.opcode).toBe(2);
            return decodeFrame(f.payload) as { kind: string; id: number; ok: boolean; error?: { code: string } };
          };
          switch (c.t) {
            case 'binary':
            case 'message': {
              ws.send(2, c.t === 'binary' ? Buffer.from(c.bytes) : Buffer.from(encodeFrame(c.value)));
              expect(await reply()).toMatchObject({ kind: 'response', ok: false, error: { code: 'bad_message' } });
              break;
            }
            case 'request': {
              ws.send(2, Buffer.from(encodeFrame({ kind: 'request', id: c.id, command: c.command, args: c.args })));
              expect(await reply()).toMatchObject({ kind: 'response', id: c.id });
              break;
            }
            case 'text':
              ws.send(1, Buffer.from(c.text));
              expect(await reply()).toMatchObject({ id: -1, ok: false, error: { code: 'bad_message' } });
              break;
            case 'badUtf8':
              ws.send(1, Buffer.from(c.bytes));
              expect(await ws.closeCode()).toBe(1007);
              break;
            case 'oversize':
              ws.send(2, Buffer.alloc(0), { declaredLength: c.declared });
              expect(await ws.closeCode()).toBe(1009);
              break;
            case 'unmasked':
              ws.send(2, Buffer.from(c.bytes), { mask: false });
              expect(await ws.closeCode()).toBe(1002);
              break;
            case 'badOpcode':
              ws.send(c.opcode, Buffer.alloc(0));
              expect(await ws.closeCode()).toBe(1002);
              break;
            case 'rsv':
              ws.send(2, Buffer.from([1, 2, 3, 4]), { rsv: c.rsv });
              expect(await ws.closeCode()).toBe(1002);
              break;
            case 'orphanContinuation':
              ws.send(0, Buffer.from(c.bytes));
              expect(await ws.closeCode()).toBe(1002);
              break;
            case 'longPing':
              ws.send(9, Buffer.from(c.bytes));
              expect(await ws.closeCode()).toBe(1002);
              break;
            case 'truncated':
            case 'raw':
              // The peer goes away mid-frame (or never spoke the protocol): the server closes its side.
              if (c.t === 'truncated') ws.send(2, Buffer.from(c.bytes), { declaredLength: c.declared });
              else ws.socket.write(c.bytes);
              ws.socket.end();
              await ws.whenClosed();
              break;
          }
        } finally {
          ws.socket.destroy();
        }
      }),
      { numRuns: 200, seed: 20240607, endOnFailure: true },
    );
    await expectServing();
  });
});

describe('which Host headers reach the server', () => {
  const hostname = os.hostname();
  it('on 127.0.0.1: loopback names at its port only', () => {
    for (const h of ['127.0.0.1:8000', 'localhost:8000', 'LOCALHOST:8000', '[::1]:8000']) expect(allowedHost(h, '127.0.0.1', 8000), h).toBe(true);
    for (const h of ['127.0.0.1:8001', '127.0.0.1', 'evil.example:8000', '192.168.1.5:8000', `${hostname}:8000`, '', '::1:8000', '127.0.0.1:08000x', '[::1']) {
      expect(allowedHost(h, '127.0.0.1', 8000), h).toBe(false);
    }
    expect(allowedHost(undefined, '127.0.0.1', 8000)).toBe(false);
    expect(allowedHost('127.0.0.1', '127.0.0.1', 80)).toBe(true);
  });
  it('on a named host: that name too', () => {
    expect(allowedHost('gpu-box.lan:8000', 'gpu-box.lan', 8000)).toBe(true);
    expect(allowedHost('evil.example:8000', 'gpu-box.lan', 8000)).toBe(false);
  });
  it("on every interface (0.0.0.0 or ::): any IP literal and this machine's name, no other name", () => {
    for (const bind of ['0.0.0.0', '::']) {
      for (const h of ['192.168.1.5:8000', '[fe80::1]:8000', `${hostname}:8000`, 'localhost:8000']) expect(allowedHost(h, bind, 8000), h).toBe(true);
      for (const h of ['evil.example:8000', '192.168.1.5:9000', '1.2.3.4.evil.example:8000']) expect(allowedHost(h, bind, 8000), h).toBe(false);
    }
  });
});
