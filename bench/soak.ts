// Soak test for browser mode, run as a script, not a timed test:
//   node --import tsx bench/soak.ts [--seconds 120] [--backend wasm]
// Starts the server on a temporary models folder and, for N seconds, drives it the way several
// users and one hostile page would: two clients training small models (the engine has one training
// slot, so a `busy` reply is an answer like any other), one generating from finished models, one
// listing, reading and deleting models, and one sending garbage (bad frames, bad HTTP). Every
// legitimate request must be answered; the server's and the engine's resident memory are sampled
// every second and must level off. Prints a JSON summary; exits 1 if a request went unanswered,
// memory kept growing, or anything came back as an `internal` error (a bug, whatever its cause).
import { promises as fs, readFileSync, readdirSync, existsSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServer, type LabServer } from '../src/main/host/serve';
import { MAX_FRAME_BYTES } from '../src/shared/limits';
import { decodeFrame, encodeFrame } from '../src/shared/wire';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, backend: { type: 'string' } } });
const SECONDS = Number(values.seconds);
if (!Number.isFinite(SECONDS) || SECONDS <= 0) throw new Error(`Expected --seconds to be a positive number, but got ${values.seconds}`);
/** A request still unanswered this long after the load stops counts as unanswered. */
const DRAIN_MS = 60_000;
/** Memory counts as growing when the last quarter's median RSS exceeds the second quarter's by this much. */
const GROWTH_LIMIT = { bytes: 48 * 2 ** 20, fraction: 0.15 };

// ---- Legitimate requests: sent, answered, latency ---------------------------------------------

interface Reply {
  id: number;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

const sent = new Map<string, number>(); // per command
const latencies = new Map<string, number[]>(); // per command, answered only
const errorCodes = new Map<string, number>();
/** Answers with code `internal` (a bug, by definition), replies and training runs alike. */
const internalErrors: string[] = [];
/** Error answers other than `busy`, distinct (a model deleted while read is legitimate; the summary shows them). */
const otherErrors = new Set<string>();
/** Requests that got no answer in time, by command and id. */
const unanswered: string[] = [];

/** One legitimate client: a WebSocket with the page's Origin, requests matched to replies by id. */
class Client {
  private nextId = 1;
  private readonly pending = new Map<number, { command: string; at: number; resolve: (r: Reply) => void }>();
  private readonly eventListeners = new Set<(event: string, payload: Record<string, unknown>) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = decodeFrame(data as Buffer) as { kind: string; id: number; event: string; payload: Record<string, unknown> } & Reply;
      if (m.kind === 'event') for (const l of this.eventListeners) l(m.event, m.payload);
      if (m.kind !== 'response') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      push(latencies, p.command, performance.now() - p.at);
      if (!m.ok) errorCodes.set(m.error!.code, (errorCodes.get(m.error!.code) ?? 0) + 1);
      if (!m.ok && m.error!.code === 'internal') internalErrors.push(`${p.command}: ${m.error!.message}`);
      if (!m.ok && m.error!.code !== 'busy') otherErrors.add(`${p.command}: ${m.error!.code}: ${m.error!.message}`);
      p.resolve(m);
    });
    ws.on('error', (e) => process.stderr.write(`soak: a legitimate client's connection failed: ${e.message}\n`));
  }

  static open(server: LabServer): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { headers: { origin: `http://127.0.0.1:${server.port}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  /** Resolves with the reply, or with code `unanswered` once DRAIN_MS have passed after the load stops. */
  call(command: string, args: unknown): Promise<Reply> {
    const id = this.nextId++;
    sent.set(command, (sent.get(command) ?? 0) + 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        unanswered.push(`${command} #${id}`);
        resolve({ id, ok: false, error: { code: 'unanswered', message: `${command} #${id} got no answer` } });
      }, Math.max(0, stopAt - performance.now()) + DRAIN_MS);
      this.pending.set(id, {
        command,
        at: performance.now(),
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      this.ws.send(encodeFrame({ kind: 'request', id, command, args }));
    });
  }

  onEvent(l: (event: string, payload: Record<string, unknown>) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  close(): void {
    this.ws.terminate();
  }
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// ---- Memory: this process (the server) and the engine child ----------------------------------

/** VmRSS of a process in bytes, from /proc; null once it has gone. */
function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The engine child's pid: the supervisor does not expose it, so find our child running the engine. */
function enginePid(): number | null {
  const kids: number[] = [];
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      kids.push(...readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  for (const pid of kids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('engine/process')) return pid;
    } catch {
      // gone already (an engine restart)
    }
  }
  return null;
}

function memoryVerdict(samples: number[]) {
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const q = (from: number, to: number) => {
    const part = samples.slice(Math.floor(from * samples.length), Math.floor(to * samples.length)).sort((a, b) => a - b);
    return quantile(part, 0.5);
  };
  const second = q(0.25, 0.5);
  const last = q(0.75, 1);
  const growth = last - second;
  return {
    startMB: mb(samples[0]),
    peakMB: mb(Math.max(...samples)),
    endMB: mb(samples[samples.length - 1]),
    secondQuarterMedianMB: mb(second),
    lastQuarterMedianMB: mb(last),
    growing: growth > GROWTH_LIMIT.bytes && growth > GROWTH_LIMIT.fraction * second,
  };
}

// ---- Main --------------------------------------------------------------------------------------

const staticDir = fileURLToPath(new URL('../out/renderer', import.meta.url));
if (!existsSync(path.join(staticDir, 'index.html'))) {
  const { build } = await import('vite');
  await build({ configFile: fileURLToPath(new URL('../vite.renderer.config.ts', import.meta.url)), logLevel: 'error' });
}
const models = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-soak-'));
const server = await startServer({ staticDir, modelsDir: models, backend: values.backend ?? null });
process.stderr.write(`soak: serving on port ${server.port} for ${SECONDS} s (models in ${models})\n`);

const stopAt = performance.now() + SECONDS * 1000;
const running = () => performance.now() < stopAt;
const training = { started: 0, busy: 0, otherErrors: 0, completed: 0, otherOutcomes: {} as Record<string, number>, unfinished: 0 };
const generation = { ok: 0, errors: 0, samples: 0 };
const hostile = { frames: 0, http: 0, closedByServer: 0, framesReceived: 0, httpAnswered: 0 };
const serverRss: number[] = [];
const engineRss: number[] = [];
const enginePids = new Set<number>();

const sampler = setInterval(() => {
  serverRss.push(process.memoryUsage().rss);
  const pid = enginePid();
  const rss = pid === null ? null : rssOf(pid);
  if (pid !== null && rss !== null) {
    enginePids.add(pid);
    engineRss.push(rss);
  }
}, 1000);

/** Trains small models back to back; the one training slot means some starts are answered `busy`. */
async function trainer(index: number): Promise<void> {
  const c = await Client.open(server);
  const done = new Map<string, (outcome: string) => void>();
  c.onEvent((event, p) => {
    if (event !== 'train.done' || !done.has(p.runId as string)) return;
    const error = p.error as { code: string; message: string } | null;
    if (error?.code === 'internal') internalErrors.push(`train.done ${p.runId as string}: ${error.message}`);
    done.get(p.runId as string)!(error ? `error:${error.code}` : (p.outcome as string));
  });
  for (let n = 0; running(); n++) {
    const runId = `soak-${index}-${n}`;
    const finished = new Promise<string>((resolve) => done.set(runId, resolve));
    const r = await c.call('train.start', {
      name: runId,
      runId,
      source: { kind: 'preset', name: 'sine' },
      model: { units: [8] },
      config: { epochs: 1, maxTrainWindows: 2000, seed: n },
    });
    if (r.ok) {
      training.started++;
      const outcome = await Promise.race([finished, new Promise<string>((resolve) => setTimeout(() => resolve('none'), stopAt - performance.now() + DRAIN_MS))]);
      if (outcome === 'completed') training.completed++;
      else if (outcome === 'none') training.unfinished++;
      else training.otherOutcomes[outcome] = (training.otherOutcomes[outcome] ?? 0) + 1;
    } else if (r.error!.code === 'busy') {
      training.busy++;
      await new Promise((resolve) => setTimeout(resolve, 250)); // the slot is taken: ask again soon
    } else {
      training.otherErrors++;
      process.stderr.write(`soak: train.start failed: ${r.error!.message}\n`);
    }
    done.delete(runId);
  }
  c.close();
}

/** Generates continuations from finished models, listening to the streamed chunks. */
async function generator(): Promise<void> {
  const c = await Client.open(server);
  for (let n = 0; running(); n++) {
    const list = await c.call('models.list', {});
    const ready = ((list.result?.models ?? []) as { name: string; status: string }[]).filter((m) => m.status === 'complete');
    if (ready.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    const name = ready[n % ready.length].name;
    const r = await c.call('generate.start', { name, prime: 100, length: 20_000, runId: `gen-${n}` });
    if (r.ok) {
      generation.ok++;
      generation.samples += (r.result!.samples as Float32Array).length;
    } else generation.errors++; // e.g. the model was just deleted: still an answer
  }
  c.close();
}

/** Lists, reads and prunes models (keeping the newest few, so the folder stays small). */
async function librarian(): Promise<void> {
  const c = await Client.open(server);
  while (running()) {
    await c.call('engine.info', {});
    const list = await c.call('models.list', {});
    const names = ((list.result?.models ?? []) as { name: string; updatedAt: string }[]).sort((a, b) => a.updatedAt.localeCompare(b.updatedAt)).map((m) => m.name);
    if (names.length) await c.call('models.get', { name: names[names.length - 1] });
    for (const name of names.slice(0, Math.max(0, names.length - 6))) await c.call('models.delete', { name });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  c.close();
}

/** A hostile page: garbage frames on its own connections, and malformed HTTP. */
async function fuzzer(): Promise<void> {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0; // a fixed LCG: the same garbage every run
    return (seed >>> 16) % n; // the high bits: an LCG's low bits cycle
  };
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
  let ws: WebSocket | null = null;
  while (running()) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws = await new Promise<WebSocket | null>((resolve) => {
        const s = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { headers: { origin: `http://127.0.0.1:${server.port}` } });
        s.on('message', () => hostile.framesReceived++);
        s.on('close', () => hostile.closedByServer++);
        s.on('error', () => {});
        s.once('open', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (!ws) continue;
    }
    const kind = rand(6);
    hostile.frames++;
    const sock = (ws as unknown as { _socket: net.Socket })._socket;
    if (kind === 0) ws.send(bytes(1 + rand(200))); // binary garbage: an error reply
    else if (kind === 1) ws.send(bytes(rand(100)).toString('latin1')); // a text frame: an error reply
    else if (kind === 2) ws.send(encodeFrame({ kind: 'request', id: rand(1000), command: 'no.such', args: {} }));
    else if (kind === 3) sock.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0xff ^ 1, 0xfe ^ 2])); // invalid UTF-8: 1007
    else if (kind === 4) {
      const head = Buffer.alloc(14); // a binary frame header declaring one byte over the limit: 1009
      head[0] = 0x82;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(MAX_FRAME_BYTES + 1), 2);
      sock.write(head);
    }
    else {
      hostile.http++;
      await new Promise<void>((resolve) => {
        const s = net.connect(server.port, '127.0.0.1');
        s.on('data', () => hostile.httpAnswered++);
        s.on('error', () => {});
        s.on('close', () => resolve());
        s.end(`GET /%zz/${bytes(8).toString('hex')}?token=% HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: seqlab_token=%\r\n\r\n`);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  ws?.terminate();
}

const t0 = performance.now();
await Promise.all([trainer(1), trainer(2), generator(), librarian(), fuzzer()]);
const loadSeconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
await server.close();
await fs.rm(models, { recursive: true, force: true });

const all = [...latencies.values()].flat().sort((a, b) => a - b);
const totalSent = [...sent.values()].reduce((a, b) => a + b, 0);
const byCommand = Object.fromEntries(
  [...sent.keys()].sort().map((cmd) => {
    const l = (latencies.get(cmd) ?? []).sort((a, b) => a - b);
    return [cmd, { sent: sent.get(cmd), answered: l.length, p50Ms: Math.round(quantile(l, 0.5)), p99Ms: Math.round(quantile(l, 0.99)) }];
  }),
);
const memory = {
  server: memoryVerdict(serverRss),
  engine: engineRss.length ? memoryVerdict(engineRss) : null,
  enginePids: [...enginePids],
  samples: serverRss.length,
};
const summary = {
  seconds: Math.round(loadSeconds),
  node: process.version,
  requests: {
    sent: totalSent,
    answered: all.length,
    unanswered: totalSent - all.length,
    unansweredRequests: unanswered.slice(0, 20),
    errorReplies: Object.fromEntries(errorCodes),
    otherErrorMessages: [...otherErrors].slice(0, 10),
    latencyMs: { p50: Math.round(quantile(all, 0.5)), p99: Math.round(quantile(all, 0.99)) },
    byCommand,
  },
  internalErrors: { count: internalErrors.length, first: [...new Set(internalErrors.map((e) => e.replace(/soak-\d+-\d+/, 'soak-*')))].slice(0, 5) },
  training,
  generation,
  hostile,
  memory,
};
const ok = summary.requests.unanswered === 0 && internalErrors.length === 0 && training.unfinished === 0 && !memory.server.growing && !memory.engine?.growing;
console.log(JSON.stringify({ ...summary, ok }, null, 2));
process.exit(ok ? 0 : 1);
