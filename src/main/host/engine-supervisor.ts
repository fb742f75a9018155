// Starts the engine process, routes requests and events, and restarts it when it dies: requests in
// flight fail with `engine_crashed`, listeners hear 'crashed' then 'restarted', and the model folders
// (written atomically) keep their last checkpoint. The host talks to the engine only in messages: it
// imports nothing from src/main/engine (a lint rule holds it to that).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LabError } from '../../shared/errors';
import { PendingRequests } from '../../shared/pending-requests';
import {
  isEventName,
  parseEventPayload,
  parseMessage,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type EventName,
  type EventPayload,
} from '../../shared/protocol';

/** Set to true by electron.vite.config.ts when this module is built into out/main. */
declare const __SEQUENCE_LAB_BUNDLED__: boolean;

/**
 * Where the engine process starts from: the same form as this host. Built into out/main (the
 * desktop app, a bundled `serve`), it is the engine bundle beside this file, run by plain Node;
 * run from the TypeScript sources (a clone, tests), it is the engine's sources through tsx, so a
 * stale bundle never answers for edited sources.
 */
export function engineEntry(): { entry: string; execArgv: string[] } {
  if (typeof __SEQUENCE_LAB_BUNDLED__ !== 'undefined' && __SEQUENCE_LAB_BUNDLED__) {
    return { entry: fileURLToPath(new URL('./engine.js', import.meta.url)), execArgv: [] };
  }
  return {
    entry: fileURLToPath(new URL('../engine/process.ts', import.meta.url)),
    execArgv: ['--import', fileURLToPath(new URL('../../../node_modules/tsx/dist/esm/index.mjs', import.meta.url))],
  };
}

export type AnyEvent = { [E in EventName]: { event: E; payload: EventPayload<E> } }[EventName];
export type EventListener = (e: AnyEvent) => void;

/** The engine process as the supervisor sees it: a Node child or an Electron utilityProcess. */
export interface EngineChild {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
  readonly alive: boolean;
}

export type SpawnEngine = (env: Record<string, string>) => EngineChild;

/** A Node child running the engine at `entry` (default: engineEntry()), with structured clone. */
export function forkEngineFrom(entry: string, execArgv: string[] = []): SpawnEngine {
  return (env) => {
    const child: ChildProcess = fork(entry, [], {
      execArgv,
      serialization: 'advanced', // structured clone: Float32Array crosses as it is
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return {
      send: (m) => child.send(m as object),
      onMessage: (l) => child.on('message', l),
      onExit: (l) => child.on('exit', (code, signal) => l(code, signal)),
      kill: () => child.kill('SIGKILL'),
      get alive() {
        return child.connected;
      },
    };
  };
}

/** Browser mode: the engine as a Node child, from the bundle or the sources (see engineEntry). */
export const forkEngine: SpawnEngine = (env) => {
  const { entry, execArgv } = engineEntry();
  return forkEngineFrom(entry, execArgv)(env);
};

export interface SupervisorOptions {
  /** How to start the engine (default: forkEngine). */
  spawn?: SpawnEngine;
  modelsDir: string;
  /** The recordings library's folder (default: the models folder's sibling `recordings/`). */
  recordingsDir?: string;
  backend?: string | null;
  /** Extra environment for the engine (tests use the crash hook). */
  env?: Record<string, string>;
  /** Milliseconds before a crashed engine is started again. */
  restartDelayMs?: number;
}

export class EngineSupervisor {
  private child: EngineChild | null = null;
  private readonly requests = new PendingRequests((code, message) => new LabError(code, message));
  private readonly listeners = new Set<EventListener>();
  private stopped = false;
  private ready: Promise<void> | null = null;
  restarts = 0;

  constructor(private readonly o: SupervisorOptions) {}

  /** Starts the engine; resolves when it says it is ready. */
  start(): Promise<void> {
    this.stopped = false;
    const child = (this.o.spawn ?? forkEngine)({
      SEQUENCE_LAB_MODELS: this.o.modelsDir,
      ...(this.o.recordingsDir ? { SEQUENCE_LAB_RECORDINGS: this.o.recordingsDir } : {}),
      ...(this.o.backend ? { SEQUENCE_LAB_BACKEND: this.o.backend } : {}),
      ...this.o.env,
    });
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      const onReady = (e: AnyEvent) => {
        if (e.event === 'engine.status' && e.payload.state === 'ready') {
          this.listeners.delete(onReady);
          resolve();
        }
      };
      this.listeners.add(onReady);
      child.onExit((code) => reject(new LabError('engine_crashed', `The engine exited (code ${code}) before it was ready`)));
    });
    this.ready.catch(() => {});
    child.onMessage((raw) => this.receive(raw));
    child.onExit((code, signal) => this.onExit(child, code, signal));
    return this.ready;
  }

  private receive(raw: unknown): void {
    let m;
    try {
      m = parseMessage(raw);
    } catch (e) {
      process.stderr.write(`sequence-lab: dropped a malformed message from the engine: ${(e as Error).message}\n`);
      return;
    }
    if (m.kind === 'response') this.requests.settle(m);
    else if (m.kind === 'event' && isEventName(m.event)) {
      try {
        this.dispatch({ event: m.event, payload: parseEventPayload(m.event, m.payload) } as AnyEvent);
      } catch (e) {
        process.stderr.write(`sequence-lab: dropped an event from the engine: ${(e as Error).message}\n`);
      }
    }
  }

  private dispatch(e: AnyEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private onExit(child: EngineChild, code: number | null, signal: string | null): void {
    if (child !== this.child) return;
    this.child = null;
    this.requests.failAll('engine_crashed', 'The engine stopped while working on this request; it is being restarted');
    if (this.stopped) return;
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    this.dispatch({ event: 'engine.status', payload: { state: 'crashed', message: `The engine stopped (${why}); restarting it. Saved models keep their last checkpoint.` } });
    setTimeout(() => {
      if (this.stopped) return;
      this.restarts++;
      this.start().then(
        () => this.dispatch({ event: 'engine.status', payload: { state: 'restarted', message: 'The engine was restarted.' } }),
        () => {},
      );
    }, this.o.restartDelayMs ?? 300);
  }

  /** Sends a command; resolves with its validated result or rejects with a LabError. */
  async call<C extends CommandName>(command: C, args: CommandArgs<C> | unknown): Promise<CommandResult<C>> {
    if (this.ready) await this.ready.catch(() => {});
    const child = this.child;
    if (!child || !child.alive) throw new LabError('engine_crashed', 'The engine is not running; it is being restarted');
    return this.requests.request(command, (id) => child.send({ kind: 'request', id, command, args }));
  }

  /** Sends an already-parsed request from a client (the WebSocket bridge); validation happens in the engine. */
  forward(command: string, args: unknown): Promise<unknown> {
    return this.call(command as CommandName, args);
  }

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Kills the engine as a crash would (tests, and a user's "restart engine"). */
  kill(): void {
    this.child?.kill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child) return;
    const gone = new Promise((r) => child.onExit(() => r(null)));
    child.kill();
    await gone;
  }
}
