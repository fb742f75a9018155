// The preload: one typed function per command and an event subscription, through contextBridge.
// ipcRenderer itself never reaches the page; results are validated again in the renderer.
// It runs sandboxed, where `require` knows only 'electron' (and events, timers, url): it imports
// nothing but the dependency-free names module, which the bundler inlines.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CALL_CHANNEL, COMMAND_NAMES, EVENT_CHANNEL, isCommandName, isEventName, type CommandName } from '../shared/protocol-names';

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

const call = (command: CommandName, args: unknown): Promise<Reply> => ipcRenderer.invoke(CALL_CHANNEL, command, args);

const commands = Object.freeze(Object.fromEntries(COMMAND_NAMES.map((c) => [c, (args: unknown) => call(c, args)]))) as Readonly<Record<CommandName, (args: unknown) => Promise<Reply>>>;

contextBridge.exposeInMainWorld('lab', {
  commands,
  call: (command: string, args: unknown): Promise<Reply> => {
    if (!isCommandName(command)) return Promise.resolve({ ok: false, error: { code: 'bad_message', message: `Unknown command "${String(command)}"` } });
    return call(command, args);
  },
  /** Subscribes to one event; returns its own unsubscribe. */
  on: (event: string, listener: (payload: unknown) => void): (() => void) => {
    if (!isEventName(event)) throw new Error(`Unknown event "${String(event)}"`);
    if (typeof listener !== 'function') throw new Error(`The listener for "${event}" is not a function`);
    const handler = (_e: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
});
