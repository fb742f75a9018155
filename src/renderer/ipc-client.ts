// Desktop mode: the protocol through the preload's window.lab (Electron IPC, structured clone).
import { parseCommandResult, parseEventPayload, type CommandArgs, type CommandName, type CommandResult, type EventName, type EventPayload } from '../shared/protocol';
import { toErrorCode } from '../shared/errors';
import { LabCallError, type LabClient } from './lab-client';

/** What src/preload/index.ts exposes; it never hands out ipcRenderer itself. */
export interface PreloadLab {
  call(command: string, args: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: { code: string; message: string } }>;
  on(event: string, listener: (payload: unknown) => void): () => void;
}

export class IpcLabClient implements LabClient {
  readonly transport = 'electron';
  constructor(private readonly lab: PreloadLab) {}

  async call<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
    const r = await this.lab.call(command, args);
    if (!r.ok) throw new LabCallError(toErrorCode(r.error.code), r.error.message);
    return parseCommandResult(command, r.result);
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.lab.on(event, (payload) => {
      try {
        listener(parseEventPayload(event, payload));
      } catch (e) {
        console.warn((e as Error).message);
      }
    });
  }
}
