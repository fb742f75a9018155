// The messages between the UI and the engine, whichever way they travel (Electron IPC, WebSocket,
// the engine process's own channel). Every command is request -> result; events are streams.
// Each side validates what it receives with these schemas; errors cross as `{ code, message }`.
import { z } from 'zod';
import { ERROR_CODES } from './errors';
import { cellTypeSchema, epochRecordSchema, regionSchema, modelSpecArgsSchema, metricsSchema, MODEL_STATUSES, modelSpecSchema, signalSourceSchema, trainConfigSchema, trainEventSchema, TRAIN_OUTCOMES } from './contract';
import { COMMAND_NAMES, isCommandName, isEventName, type CommandName, type EventName } from './protocol-names';

export { COMMAND_NAMES, isCommandName, isEventName, type CommandName, type EventName };

export const PROTOCOL_VERSION = 1;

/** How a model runs on live input (see live.start). */
export const LIVE_MODES = ['follow', 'call-response'] as const;
export type LiveModeName = (typeof LIVE_MODES)[number];

const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const u8 = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
/** Recording names are file names: letters, digits, spaces and . - _ ( ), at most 120 (recordings.ts checks the rest). */
export const recordingNameSchema = z.string().regex(/^[\w][\w .()-]{0,119}$/, 'use 1-120 letters, digits, spaces, ".", "-", "_", "(" or ")", not starting with a space or punctuation');
/** Model names become folder names: letters, digits, '.', '_' and '-', not starting with '.'. */
export const modelNameSchema = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-", not starting with "."');

/** A signal as the UI sends it: a preset (optionally overridden) or decoded audio. */
export const uiSourceSchema = z.discriminatedUnion('kind', [
  signalSourceSchema.options[0],
  z.object({ kind: z.literal('samples'), name: z.string().max(200), sampleRate: z.number().int().positive().max(1_000_000), samples: f32 }),
  /**
   * A recording in the library: the model trains on `region` of it (seconds; all of it when absent)
   * and primes its continuations on `primeRegion` by default. The engine trains on a copy.
   */
  z.object({ kind: z.literal('recording'), name: recordingNameSchema, region: regionSchema.optional(), primeRegion: regionSchema.optional() }),
]);
export type UiSource = z.input<typeof uiSourceSchema>;
export type ParsedUiSource = z.output<typeof uiSourceSchema>;

export const commandArgs = {
  'engine.info': z.object({}),
  'engine.doctor': z.object({}),
  'signal.preview': z.object({ source: uiSourceSchema }),
  'train.start': z.object({
    name: modelNameSchema,
    source: uiSourceSchema,
    /** A spec of any family, fields optional (the engine fills the family's defaults). */
    model: modelSpecArgsSchema.default({}),
    config: trainConfigSchema.partial().default({}),
    backend: z.string().optional(),
    /** Replace a model of the same name; without it such a request is refused with code `exists`. */
    overwrite: z.boolean().default(false),
    /** The caller's id for this run: progress events may arrive before the reply, and carry it. */
    runId: z.string().max(100).optional(),
  }),
  'train.resume': z.object({ name: modelNameSchema, epochs: z.number().int().min(1).optional(), runId: z.string().max(100).optional() }),
  'train.cancel': z.object({ runId: z.string() }),
  'generate.start': z.object({
    name: modelNameSchema,
    prime: z.number().int().min(1).max(1_000_000).optional(),
    /** Where the prime starts in the model's signal, in samples; absent: the held-out region (for audio, its loudest part). */
    offset: z.number().int().min(0).optional(),
    /** Prime on this span of the model's recording (seconds of the file) instead; absent: the span stored with the model, if any. */
    primeRegion: regionSchema.optional(),
    length: z.number().int().min(1).max(10_000_000),
    state: f32.optional(),
    chunkSize: z.number().int().min(1).optional(),
    /** A sampling family's temperature (0 = the most likely value; unset: the family's default) and seed; regression ignores them. */
    temperature: z.number().min(0).max(100).optional(),
    seed: z.number().int().optional(),
    /** The caller's id for this run: chunk events carry it, so a client knows its own among others'. */
    runId: z.string().max(100).optional(),
  }),
  'models.list': z.object({}),
  'models.get': z.object({ name: modelNameSchema }),
  'models.delete': z.object({ name: modelNameSchema }),
  'recordings.list': z.object({}),
  /** Starts a take at the capture's rate; batches follow with recordings.append. A name is chosen when absent. */
  'recordings.start': z.object({ name: recordingNameSchema.optional(), sampleRate: z.number().int().min(1000).max(384_000) }),
  'recordings.append': z.object({ id: z.string().max(100), samples: f32 }),
  /** Ends a take: kept, or deleted with `discard`. */
  'recordings.finish': z.object({ id: z.string().max(100), discard: z.boolean().default(false) }),
  'recordings.read': z.object({ name: recordingNameSchema }),
  'recordings.rename': z.object({ name: recordingNameSchema, to: recordingNameSchema }),
  'recordings.delete': z.object({ name: recordingNameSchema }),
  /** An audio file's bytes (WAV, FLAC, MP3, Ogg Vorbis), stored as a recording named after `fileName`. */
  'recordings.import': z.object({ fileName: z.string().min(1).max(300), bytes: u8 }),
  /**
   * Runs a model on live input: each live.push batch in, a batch of the same length out. `follow`: its
   * one-step predictions of the input; `call-response`: silence while the input plays, a continuation
   * once it has been quiet for a moment. `sampleRate` is the capture's: it must be the model's.
   */
  'live.start': z.object({
    name: modelNameSchema,
    mode: z.enum(LIVE_MODES),
    sampleRate: z.number().int().min(1000).max(384_000),
    batchSize: z.number().int().min(16).max(16_384).default(128),
    temperature: z.number().min(0).max(100).optional(),
    seed: z.number().int().optional(),
  }),
  'live.push': z.object({ liveId: z.string().max(100), seq: z.number().int().min(0), samples: f32 }),
  'live.stop': z.object({ liveId: z.string().max(100) }),
} as const;

export type CommandArgs<C extends CommandName> = z.input<(typeof commandArgs)[C]>;

const modelSummarySchema = z.object({
  name: z.string(),
  status: z.enum(MODEL_STATUSES),
  /** The model's family (absent from older engines: regression). */
  family: z.string().optional(),
  type: cellTypeSchema,
  units: z.array(z.number()),
  window: z.number(),
  epochsDone: z.number(),
  epochs: z.number(),
  source: z.string(),
  sampleRate: z.number(),
  metrics: metricsSchema.nullable(),
  updatedAt: z.string(),
  /** When the run began (ISO 8601); absent from older engines. */
  createdAt: z.string().optional(),
  /** Seconds spent training, summed over its epochs; absent from older engines. */
  trainSeconds: z.number().optional(),
  /** 'complete' runs: how training ended ('completed', 'early-stopped', 'cancelled', 'diverged'). */
  outcome: z.enum(TRAIN_OUTCOMES).nullable().optional(),
  /** Every training setting, so that runs can be compared by what differs; absent from older engines. */
  config: trainConfigSchema.optional(),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

const recordingSummarySchema = z.object({
  name: z.string(),
  sampleRate: z.number(),
  samples: z.number().int(),
  seconds: z.number(),
  bytes: z.number(),
  modifiedAt: z.string(),
});
export type RecordingSummaryData = z.infer<typeof recordingSummarySchema>;

/** What `sequence-lab doctor` reports, for the UI's about box (src/main/doctor.ts builds it). */
export const doctorReportSchema = z.object({
  node: z.object({ version: z.string(), engines: z.string(), ok: z.boolean() }),
  backends: z.array(
    z.object({
      name: z.enum(['cuda', 'node', 'wasm', 'cpu']),
      loaded: z.boolean(),
      reason: z.string().nullable(),
      fix: z.string().nullable(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
  engineWouldUse: z.enum(['cuda', 'node', 'wasm', 'cpu']).nullable(),
  cuda: z.object({ libcudart: z.array(z.string()), libcudnn: z.array(z.string()), gpus: z.array(z.string()).nullable(), needs: z.object({ cuda: z.string(), cudnn: z.string() }) }),
  electron: z.object({ present: z.boolean(), version: z.string().nullable(), path: z.string().nullable(), reason: z.string().nullable(), fix: z.string().nullable() }),
  chromium: z.object({ present: z.boolean(), path: z.string(), version: z.string().nullable(), fix: z.string().nullable() }),
  models: z.object({ dir: z.string(), exists: z.boolean(), writable: z.boolean(), freeBytes: z.number().nullable(), models: z.number(), problem: z.string().nullable() }),
});
export type DoctorReportData = z.infer<typeof doctorReportSchema>;

export const commandResults = {
  'engine.info': z.object({
    protocol: z.number(),
    backend: z.string(),
    backendsSkipped: z.array(z.string()),
    presets: z.array(z.object({ name: z.string(), description: z.string() })),
    modelsDir: z.string(),
  }),
  'engine.doctor': doctorReportSchema,
  /** What the UI draws of a signal: its length and min/max peaks (at most 65,536 buckets), never every sample. */
  'signal.preview': z.object({
    length: z.number().int(),
    sampleRate: z.number(),
    peaks: z.object({ max: f32, min: f32 }),
    /** The whole signal's spectrogram as a small picture (shared/dsp/spectrogram.ts). */
    spectrogram: z.object({ columns: z.number().int(), rows: z.number().int(), values: f32, maxHz: z.number(), seconds: z.number() }),
    noiseFloor: z.number().nullable(),
    description: z.string(),
  }),
  'train.start': z.object({ runId: z.string() }),
  'train.resume': z.object({ runId: z.string() }),
  'train.cancel': z.object({ cancelled: z.boolean() }),
  'generate.start': z.object({
    runId: z.string(),
    samples: f32,
    state: f32,
    primeSamples: f32,
    truth: f32.nullable(),
    sampleRate: z.number(),
  }),
  'models.list': z.object({ models: z.array(modelSummarySchema) }),
  'models.get': z.object({
    summary: modelSummarySchema,
    history: z.array(epochRecordSchema),
    batchLosses: f32,
    /** What the run was made of, so that the UI can load it into the form ("Duplicate run"); absent from older engines. */
    settings: z.object({ model: modelSpecSchema, train: trainConfigSchema, source: signalSourceSchema }).optional(),
  }),
  'models.delete': z.object({ deleted: z.boolean() }),
  'recordings.list': z.object({ dir: z.string(), recordings: z.array(recordingSummarySchema) }),
  'recordings.start': z.object({ id: z.string(), name: z.string() }),
  'recordings.append': z.object({ samples: z.number().int(), seconds: z.number() }),
  /** The kept recording, or null when discarded or empty. */
  'recordings.finish': z.object({ recording: recordingSummarySchema.nullable() }),
  'recordings.read': z.object({ recording: recordingSummarySchema, samples: f32 }),
  'recordings.rename': z.object({ recording: recordingSummarySchema }),
  'recordings.delete': z.object({ deleted: z.boolean() }),
  'recordings.import': z.object({ recording: recordingSummarySchema }),
  'live.start': z.object({ liveId: z.string(), sampleRate: z.number(), batchSize: z.number().int(), family: z.string() }),
  /** The answer to batch `seq`, what the model is doing, and how long it took (ms). */
  'live.push': z.object({ seq: z.number().int(), samples: f32, state: z.enum(['listening', 'responding']), computeMs: z.number(), levelDbfs: z.number() }),
  'live.stop': z.object({ batches: z.number().int(), responses: z.number().int(), meanComputeMs: z.number(), maxComputeMs: z.number() }),
} as const;
export type CommandResult<C extends CommandName> = z.output<(typeof commandResults)[C]>;

/** An error as data; a code this build does not know (a newer engine's) reads as 'internal'. */
export const errorDataSchema = z.object({ code: z.enum(ERROR_CODES).catch('internal'), message: z.string() });

export const eventPayloads = {
  'train.progress': z.object({ runId: z.string(), name: z.string(), progress: trainEventSchema }),
  'train.done': z.object({
    runId: z.string(),
    name: z.string(),
    outcome: z.enum(TRAIN_OUTCOMES).nullable(),
    message: z.string().nullable(),
    metrics: metricsSchema.nullable(),
    error: errorDataSchema.nullable(),
  }),
  /** A chunk of a continuation as it is computed, and the packed state after it (absent from older engines). */
  'generate.chunk': z.object({ runId: z.string(), from: z.number(), samples: f32, state: f32.optional() }),
  'engine.status': z.object({ state: z.enum(['starting', 'ready', 'crashed', 'restarted']), message: z.string() }),
} as const;
// The names live in protocol-names.ts (for the preload); these fail to compile if the schemas and
// the names ever differ, in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const namesMatch: [Same<keyof typeof commandArgs, CommandName>, Same<keyof typeof commandResults, CommandName>, Same<keyof typeof eventPayloads, EventName>] = [true, true, true];
void namesMatch;

export type EventPayload<E extends EventName> = z.output<(typeof eventPayloads)[E]>;

// ---- Envelopes ------------------------------------------------------------------------------

export const requestSchema = z.object({ kind: z.literal('request'), id: z.number().int(), command: z.string(), args: z.unknown() });
export const responseSchema = z.union([
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(false), error: errorDataSchema }),
]);
export const eventSchema = z.object({ kind: z.literal('event'), event: z.string(), payload: z.unknown() });
export const messageSchema = z.union([requestSchema, responseSchema, eventSchema]);

export type Request = z.infer<typeof requestSchema>;
export type Response = z.infer<typeof responseSchema>;
export type EventMessage = z.infer<typeof eventSchema>;
export type Message = Request | Response | EventMessage;

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`;
}

/** Validates a command's arguments; the error message names the command and the field. */
export function parseCommandArgs<C extends CommandName>(command: C, args: unknown): z.output<(typeof commandArgs)[C]> {
  const r = commandArgs[command].safeParse(args);
  if (!r.success) throw Object.assign(new Error(`Invalid arguments for ${command}: ${firstIssue(r.error)}`), { code: 'bad_message' });
  return r.data as z.output<(typeof commandArgs)[C]>;
}

export function parseCommandResult<C extends CommandName>(command: C, result: unknown): CommandResult<C> {
  const r = commandResults[command].safeParse(result);
  if (!r.success) throw Object.assign(new Error(`Malformed result for ${command}: ${firstIssue(r.error)}`), { code: 'bad_message' });
  return r.data as CommandResult<C>;
}

export function parseEventPayload<E extends EventName>(event: E, payload: unknown): EventPayload<E> {
  const r = eventPayloads[event].safeParse(payload);
  if (!r.success) throw Object.assign(new Error(`Malformed ${event} event: ${firstIssue(r.error)}`), { code: 'bad_message' });
  return r.data as EventPayload<E>;
}

/** Parses an envelope; throws an Error with code 'bad_message' naming what is wrong. */
export function parseMessage(value: unknown): Message {
  const r = messageSchema.safeParse(value);
  if (!r.success) throw Object.assign(new Error(`Malformed message: ${firstIssue(r.error)}`), { code: 'bad_message' });
  return r.data as Message;
}
