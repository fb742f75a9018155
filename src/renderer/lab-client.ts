// The UI's one way to reach the engine: the same typed calls over Electron IPC (window.lab, from the
// preload) or a WebSocket (browser mode). Results and events are validated where they arrive.
import type { CommandArgs, CommandName, CommandResult, EventName, EventPayload } from '../shared/protocol';

export interface LabClient {
  call<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>>;
  /** Subscribes to an event stream; returns the unsubscribe. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
  /** 'electron' or 'browser', shown in the status bar. */
  readonly transport: string;
}

/** An error from the engine, as data: a code and a message meant for the user. */
export class LabCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
