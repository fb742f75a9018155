// Browser mode: the protocol over a WebSocket with binary frames (Float32Array stays binary).
import { decodeFrame, encodeFrame } from '../shared/wire';
import {
  isEventName,
  parseCommandResult,
  parseEventPayload,
  parseMessage,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type EventName,
  type EventPayload,
} from '../shared/protocol';
import { LabCallError, type LabClient } from './lab-client';

type Listener = (payload: unknown) => void;

export class WebSocketLabClient implements LabClient {
  readonly transport = 'browser';
  private ws: WebSocket | null = null;
  private opened: Promise<WebSocket> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { command: CommandName; resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly url: string) {}

  /** The WebSocket URL for the page this was served from, carrying its token. */
  static fromLocation(loc: Location): WebSocketLabClient {
    const token = new URLSearchParams(loc.search).get('token') ?? '';
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocketLabClient(`${scheme}//${loc.host}/ws?token=${encodeURIComponent(token)}`);
  }

  private connect(): Promise<WebSocket> {
    if (this.opened) return this.opened;
    this.opened = new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        this.ws = ws;
        resolve(ws);
      };
      ws.onerror = () => reject(new LabCallError('engine_unreachable', 'Cannot reach the engine server (is `sequence-lab serve` running, and is the token right?)'));
      ws.onclose = () => {
        this.ws = null;
        this.opened = null;
        for (const [, p] of this.pending) p.reject(new LabCallError('engine_unreachable', 'The connection to the engine server closed'));
        this.pending.clear();
      };
      ws.onmessage = (e) => this.receive(e.data as ArrayBuffer);
    });
    return this.opened;
  }

  private receive(data: ArrayBuffer): void {
    let m;
    try {
      m = parseMessage(decodeFrame(data));
    } catch (e) {
      console.warn('Dropped a malformed frame from the server:', (e as Error).message);
      return;
    }
    if (m.kind === 'response') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!m.ok) return p.reject(new LabCallError(m.error.code, m.error.message));
      try {
        p.resolve(parseCommandResult(p.command, m.result));
      } catch (e) {
        p.reject(new LabCallError('bad_message', (e as Error).message));
      }
    } else if (m.kind === 'event' && isEventName(m.event)) {
      let payload: unknown;
      try {
        payload = parseEventPayload(m.event, m.payload);
      } catch (e) {
        console.warn((e as Error).message);
        return;
      }
      for (const l of this.listeners.get(m.event) ?? []) l(payload);
    }
  }

  async call<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
    const ws = await this.connect();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      ws.send(encodeFrame({ kind: 'request', id, command, args }));
    });
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    void this.connect().catch(() => {});
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set!.delete(listener as Listener);
  }
}
