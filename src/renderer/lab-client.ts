// The UI's one way to reach the engine: the same typed calls over Electron IPC (window.lab, from the
// preload) or a WebSocket (browser mode). Results and events are validated where they arrive.
import type { ErrorCode } from '../shared/errors';
import type { CommandArgs, CommandName, CommandResult, EventName, EventPayload } from '../shared/protocol';

/** Whether the engine can be reached; `reason` says why not, in words. */
export type ConnectionState = { online: true } | { online: false; reason: string };

export interface LabClient {
  call<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>>;
  /** Subscribes to an event stream; returns the unsubscribe. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
  /**
   * Subscribes to the connection's state (browser mode: the WebSocket closing and reopening by
   * itself); returns the unsubscribe. Absent where the engine cannot become unreachable (Electron IPC).
   */
  onConnection?(listener: (state: ConnectionState) => void): () => void;
  /** 'electron' or 'browser', shown in the status bar. */
  readonly transport: string;
}

/** An error from the engine, as data: a code and a message meant for the user. */
export class LabCallError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
