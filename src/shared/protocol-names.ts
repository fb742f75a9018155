// The names of the protocol's commands and events, and the IPC channels that carry them, with no
// imports at all: the sandboxed preload may require only 'electron', so it cannot load zod or the
// contract. protocol.ts keeps the schemas and checks at compile time that its keys equal these.

export const COMMAND_NAMES = [
  'engine.info',
  'engine.doctor',
  'signal.preview',
  'train.start',
  'train.resume',
  'train.cancel',
  'generate.start',
  'models.list',
  'models.get',
  'models.delete',
  'recordings.list',
  'recordings.start',
  'recordings.append',
  'recordings.finish',
  'recordings.read',
  'recordings.rename',
  'recordings.delete',
  'recordings.import',
  'live.start',
  'live.push',
  'live.stop',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const EVENT_NAMES = ['train.progress', 'train.done', 'generate.chunk', 'engine.status'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Electron IPC channels: the renderer invokes CALL_CHANNEL; the main process sends on EVENT_CHANNEL. */
export const CALL_CHANNEL = 'lab:call';
export const EVENT_CHANNEL = 'lab:event';

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && (COMMAND_NAMES as readonly string[]).includes(name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as readonly string[]).includes(name);
}
