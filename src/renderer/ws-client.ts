// Browser mode: the protocol over a WebSocket with binary frames (Float32Array stays binary).
import { decodeFrame, encodeFrame } from '../shared/wire';
import {
  isEventName,
  parseEventPayload,
  parseMessage,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type EventName,
  type EventPayload,
} from '../shared/protocol';
import { MAX_FRAME_BYTES } from '../shared/limits';
import { PendingRequests } from '../shared/pending-requests';
import { LabCallError, type ConnectionState, type LabClient } from './lab-client';

type Listener = (payload: unknown) => void;

/** Reconnect delays after the server closes the connection: doubling, up to a cap. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

export interface WebSocketLabClientOptions {
  /** Nothing heard from the server for this long: ask it something cheap (`engine.info`). Default 4 s. */
  heartbeatIdleMs?: number;
  /**
   * No answer to that question for this long: the server is taken as hung (a socket that stays open
   * but says nothing looks like this), the connection as lost; it is closed and reopened. Also the
   * longest a new connection may take to open. Default 8 s.
   */
  heartbeatTimeoutMs?: number;
  /**
   * The same while one of the UI's own calls is still waiting for its answer: the engine may then
   * be busy with it (opening a long recording), and answer the question only after. Default 30 s.
   */
  busyTimeoutMs?: number;
}

export const defaultOptions: Required<WebSocketLabClientOptions> = { heartbeatIdleMs: 4_000, heartbeatTimeoutMs: 8_000, busyTimeoutMs: 30_000 };

export class WebSocketLabClient implements LabClient {
  readonly transport = 'browser';
  private ws: WebSocket | null = null;
  private opened: Promise<WebSocket> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_FIRST_MS;
  /** Requests waiting for their answer; heartbeats are tagged true. */
  private readonly requests = new PendingRequests<boolean>((code, message) => new LabCallError(code, message));
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly connectionListeners = new Set<(s: ConnectionState) => void>();
  private wasOpen = false;
  private readonly options: Required<WebSocketLabClientOptions>;

  constructor(
    private readonly url: string,
    options: WebSocketLabClientOptions = {},
  ) {
    this.options = { ...defaultOptions, ...options };
  }

  /** The WebSocket URL for the page this was served from, carrying its token. */
  static fromLocation(loc: Location): WebSocketLabClient {
    const token = new URLSearchParams(loc.search).get('token') ?? '';
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocketLabClient(`${scheme}//${loc.host}/ws?token=${encodeURIComponent(token)}`);
  }

  private connect(): Promise<WebSocket> {
    if (this.opened) return this.opened;
    const opened = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = 'arraybuffer';
      let ended = false;
      let heartbeat: ReturnType<typeof setInterval> | null = null;
      /** The socket is gone (closed, or given up as hung): fail what waits on it, say so, reopen later. */
      const end = (message: string) => {
        if (ended) return;
        ended = true;
        clearTimeout(opening);
        if (heartbeat) clearInterval(heartbeat);
        if (this.ws === ws) this.ws = null;
        if (this.opened === opened) this.opened = null;
        reject(new LabCallError('engine_unreachable', message));
        this.requests.failAll('engine_unreachable', message);
        if (this.wasOpen) {
          this.wasOpen = false;
          for (const l of this.connectionListeners) l({ online: false, reason: message });
        }
        this.reconnectLater();
      };
      /** Stops listening to a socket that says nothing, and closes it without waiting for its answer. */
      const giveUp = (message: string) => {
        ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
        try {
          ws.close();
        } catch {
          // already closing
        }
        end(message);
      };
      const seconds = (ms: number) => `${Number((ms / 1000).toPrecision(2))} s`;
      const opening = setTimeout(() => giveUp(`The engine server did not open the connection within ${seconds(this.options.heartbeatTimeoutMs)}`), this.options.heartbeatTimeoutMs);
      let lastHeard = Date.now();
      let askedAt: number | null = null;
      ws.onopen = () => {
        clearTimeout(opening);
        this.ws = ws;
        this.retryMs = RETRY_FIRST_MS;
        this.wasOpen = true;
        lastHeard = Date.now();
        heartbeat = setInterval(() => {
          const now = Date.now();
          if (askedAt !== null) {
            const busy = this.requests.some((heartbeat) => !heartbeat);
            const limit = busy ? this.options.busyTimeoutMs : this.options.heartbeatTimeoutMs;
            if (now - askedAt >= limit) giveUp(`The engine server stopped answering (nothing for ${seconds(now - lastHeard)})`);
          } else if (now - lastHeard >= this.options.heartbeatIdleMs) {
            askedAt = now;
            // A closing socket may refuse the send; its close event ends the connection anyway.
            this.requests.request('engine.info', (id) => ws.send(encodeFrame({ kind: 'request', id, command: 'engine.info', args: {} })), true).catch(() => {});
          }
        }, Math.max(20, Math.min(this.options.heartbeatIdleMs, this.options.heartbeatTimeoutMs) / 4));
        for (const l of this.connectionListeners) l({ online: true });
        resolve(ws);
      };
      ws.onerror = () => reject(new LabCallError('engine_unreachable', 'Cannot reach the engine server (is `sequence-lab serve` running, and is the token right?)'));
      ws.onclose = (e) => {
        // The server says why it closed (a frame too large, a client too slow to read): pass it on.
        const why = e.reason ? `: ${e.reason}` : e.code === 1006 ? '' : ` (code ${e.code})`;
        end(`The connection to the engine server closed${why}`);
      };
      ws.onmessage = (e) => {
        // Anything from the server (an answer, an event) shows it is alive.
        lastHeard = Date.now();
        askedAt = null;
        this.receive(e.data as ArrayBuffer);
      };
    });
    this.opened = opened;
    return opened;
  }

  /** Event streams (training progress, engine status) must survive a dropped connection: reopen it. */
  private reconnectLater(): void {
    if (this.retry || ![...this.listeners.values()].some((set) => set.size > 0)) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().catch(() => {}); // a failure closes too, and schedules the next try
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private receive(data: ArrayBuffer): void {
    let m;
    try {
      m = parseMessage(decodeFrame(data));
    } catch (e) {
      console.warn('Dropped a malformed frame from the server:', (e as Error).message);
      return;
    }
    if (m.kind === 'response') this.requests.settle(m);
    else if (m.kind === 'event' && isEventName(m.event)) {
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
    if (ws.readyState !== WebSocket.OPEN) throw new LabCallError('engine_unreachable', 'The connection to the engine server closed');
    return this.requests.request(command, (id) => {
      const frame = encodeFrame({ kind: 'request', id, command, args });
      // The server closes the connection on a larger message (1009); say why here instead.
      if (frame.byteLength > MAX_FRAME_BYTES) {
        const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
        throw new LabCallError('bad_argument', `The ${command} request is ${mb(frame.byteLength)}; the engine server takes at most ${mb(MAX_FRAME_BYTES)} per message`);
      }
      ws.send(frame);
    });
  }

  onConnection(listener: (s: ConnectionState) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    void this.connect().catch(() => {});
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set!.delete(listener as Listener);
  }
}
