// The preload: one typed function per command and an event subscription, through contextBridge.
// ipcRenderer itself never reaches the page; results are validated again in the renderer.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { COMMAND_NAMES, type CommandName } from '../shared/protocol';

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

const call = (command: CommandName, args: unknown): Promise<Reply> => ipcRenderer.invoke('lab:call', command, args);

const commands = Object.fromEntries(COMMAND_NAMES.map((c) => [c, (args: unknown) => call(c, args)])) as Record<CommandName, (args: unknown) => Promise<Reply>>;

contextBridge.exposeInMainWorld('lab', {
  commands,
  call: (command: string, args: unknown) => {
    if (!(COMMAND_NAMES as string[]).includes(command)) return Promise.resolve({ ok: false, error: { code: 'bad_message', message: `Unknown command "${command}"` } });
    return call(command as CommandName, args);
  },
  on: (event: string, listener: (payload: unknown) => void) => {
    const handler = (_e: IpcRendererEvent, name: string, payload: unknown) => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on('lab:event', handler);
    return () => ipcRenderer.removeListener('lab:event', handler);
  },
});
