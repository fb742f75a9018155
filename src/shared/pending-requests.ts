// The one request/response matcher: every side that sends commands and waits for answers (the engine
// supervisor over IPC, the browser's WebSocket client) numbers its requests and settles each with the
// response of the same id, its result validated against the command's schema, or its error as data.
import type { ErrorCode } from './errors';
import { parseCommandResult, type CommandName, type CommandResult, type Response } from './protocol';

interface Waiting<T> {
  command: CommandName;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** What the caller wants to remember about the request (the WebSocket client marks heartbeats). */
  tag: T | undefined;
}

export class PendingRequests<T = undefined> {
  private next = 1;
  private readonly waiting = new Map<number, Waiting<T>>();

  /** @param error builds the caller's error type from a code and a message. */
  constructor(private readonly error: (code: ErrorCode, message: string) => Error) {}

  /** Registers a request; `send` gets its id and sends it. The promise settles with the response. */
  request<C extends CommandName>(command: C, send: (id: number) => void, tag?: T): Promise<CommandResult<C>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { command, resolve: resolve as (v: unknown) => void, reject, tag });
      try {
        send(id);
      } catch (e) {
        this.waiting.delete(id);
        reject(e);
      }
    });
  }

  /** Settles the request this response answers; false when none is waiting for it (late or unknown). */
  settle(m: Response): boolean {
    const w = this.waiting.get(m.id);
    if (!w) return false;
    this.waiting.delete(m.id);
    if (!m.ok) w.reject(this.error(m.error.code, m.error.message));
    else {
      try {
        w.resolve(parseCommandResult(w.command, m.result));
      } catch (e) {
        w.reject(this.error('bad_message', (e as Error).message));
      }
    }
    return true;
  }

  /** Fails every waiting request with the same error (the connection or the engine went away). */
  failAll(code: ErrorCode, message: string): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(this.error(code, message));
  }

  /** Whether any waiting request's tag passes `test` (an untagged one passes `undefined`). */
  some(test: (tag: T | undefined) => boolean): boolean {
    for (const w of this.waiting.values()) if (test(w.tag)) return true;
    return false;
  }

  get size(): number {
    return this.waiting.size;
  }
}
