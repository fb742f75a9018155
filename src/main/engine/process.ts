// The engine process: a Node child (browser mode, `serve`) or an Electron utilityProcess (desktop).
// It receives protocol requests, validates them, runs them on a LabService and answers; events
// (training progress, generated chunks) flow back unprompted. Never runs in the host's process.
import * as path from 'node:path';
import { homedir } from 'node:os';
import { toErrorData } from '../../shared/errors';
import { isCommandName, parseMessage, type Message } from '../../shared/protocol';
import { LabService } from './service';

interface Port {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: unknown) => void): void;
}

/** Electron's utilityProcess exposes process.parentPort; a Node child uses process.send. */
function parentPort(): { port: Port; unwrap: (e: unknown) => unknown } {
  const electronPort = (process as unknown as { parentPort?: Port }).parentPort;
  if (electronPort) return { port: electronPort, unwrap: (e) => (e as { data: unknown }).data };
  if (!process.send) throw new Error('The engine process must be started by the host (no IPC channel)');
  return { port: { postMessage: (m) => process.send!(m), on: (_e, l) => process.on('message', l) }, unwrap: (e) => e };
}

const { port, unwrap } = parentPort();
const send = (m: Message) => port.postMessage(m);
const modelsDir = process.env.SEQUENCE_LAB_MODELS ?? path.join(homedir(), '.sequence-lab', 'models');
const service = new LabService({
  modelsDir,
  ...(process.env.SEQUENCE_LAB_RECORDINGS ? { recordingsDir: process.env.SEQUENCE_LAB_RECORDINGS } : {}),
  backend: process.env.SEQUENCE_LAB_BACKEND ?? null,
  emit: (event, payload) => send({ kind: 'event', event, payload }),
});

// Folders left mid-write by a crash are put back before any request sees the models folder.
const recovered = service.recover().then(
  (done) => done.forEach((line) => process.stderr.write(`engine: ${line}\n`)),
  (e) => process.stderr.write(`engine: start-up clean-up failed: ${(e as Error).message}\n`),
);

port.on('message', (raw) => {
  let id = -1;
  void (async () => {
    try {
      await recovered;
      const m = parseMessage(unwrap(raw));
      if (m.kind !== 'request') throw Object.assign(new Error(`The engine only takes requests, got a ${m.kind}`), { code: 'bad_message' });
      id = m.id;
      if (!isCommandName(m.command)) throw Object.assign(new Error(`Unknown command "${m.command}"`), { code: 'bad_message' });
      const result = await service.handle(m.command, m.args);
      send({ kind: 'response', id, ok: true, result });
    } catch (e) {
      const code = (e as { code?: string }).code;
      send({ kind: 'response', id, ok: false, error: code === 'bad_message' ? { code, message: (e as Error).message } : toErrorData(e) });
    }
  })();
});

// Test hook: SEQUENCE_LAB_ENGINE_CRASH_AFTER_MS makes the engine die, as a crash would.
const crashAfter = Number(process.env.SEQUENCE_LAB_ENGINE_CRASH_AFTER_MS);
if (crashAfter > 0) setTimeout(() => process.exit(70), crashAfter);

send({ kind: 'event', event: 'engine.status', payload: { state: 'ready', message: `engine ready (pid ${process.pid})` } });
