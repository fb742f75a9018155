// The engine's command handlers behind the protocol: one LabService per engine process. Commands
// arrive validated; long work (training) runs in the background and reports through events.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabError, toErrorData } from '../../shared/errors';
import type { CommandName, CommandResult, EventName, EventPayload, ModelSummary, ParsedUiSource } from '../../shared/protocol';
import { parseCommandArgs, PROTOCOL_VERSION } from '../../shared/protocol';
import type { EpochRecord, SignalSource } from '../../shared/contract';
import { findPreset, PRESETS } from '../../shared/signals/generators';
import { encodeWav } from '../../shared/signals/wav';
import { spectrogramImage } from '../../shared/dsp/spectrogram';
import { computePeaks } from '../../shared/dsp/peaks';
import { initBackend } from './backend';
import { generateFromFolder, loadSignal, train } from './engine';
import { isModelFolder, parseTrainingLog, readStoredSpec, recoverModelsDir, writeFileAtomic, type StoredSpec } from './store';
import { RecordingsLibrary } from './recordings';
import { openLiveSession, type LiveSession } from './live';

/** A live session nobody has pushed to for this long is closed (its page went away). */
export const LIVE_IDLE_MS = 15_000;
/** Live sessions one engine runs at once. */
const MAX_LIVE_SESSIONS = 4;

export type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export interface LabServiceOptions {
  /** Folder holding one folder per model. */
  modelsDir: string;
  /** The recordings library's folder; by default `recordings/` beside the models folder. */
  recordingsDir?: string;
  backend?: string | null;
  emit: Emit;
}

function summarise(name: string, s: StoredSpec, history: EpochRecord[] = []): ModelSummary {
  return {
    name,
    status: s.status,
    family: s.model.family,
    type: s.model.type,
    units: s.model.units,
    window: s.train.window,
    epochsDone: s.epochsDone,
    epochs: s.train.epochs,
    source: describeSource(s.source),
    sampleRate: s.sampleRate,
    metrics: s.metrics,
    updatedAt: s.updatedAt,
    createdAt: s.createdAt,
    trainSeconds: history.reduce((sum, h) => sum + h.seconds, 0),
    outcome: s.outcome,
    config: s.train,
  };
}

async function readHistory(dir: string): Promise<{ history: EpochRecord[]; batchLosses: number[] }> {
  const lines = (await fs.readFile(path.join(dir, 'training-log.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return parseTrainingLog(lines);
}

/** Copies of audio sent by the UI, beside the model folders (which refer to them by path). */
const SOURCES_DIR = '.sources';

interface TrainingSlot {
  runId: string;
  name: string;
  controller: AbortController;
  /** The source copy this run trains on, once written. */
  sourcePath?: string;
}

/** What the runs table says a model trained on: a preset, a recording (and its span), a file. */
function describeSource(s: SignalSource): string {
  if (s.kind === 'preset') return `preset ${s.name}`;
  const span = s.region ? ` ${s.region.start.toFixed(2)}-${s.region.end.toFixed(2)} s` : '';
  return s.recording ? `recording ${s.recording}${span}` : `${path.basename(s.path)}${span}`;
}

/** The recordings folder that goes with a models folder: its sibling `recordings/`. */
export function defaultRecordingsDir(modelsDir: string): string {
  return path.join(path.dirname(path.resolve(modelsDir)), 'recordings');
}

export class LabService {
  private training: TrainingSlot | null = null;
  private runs = 0;
  readonly recordings: RecordingsLibrary;
  private readonly live = new Map<string, { session: LiveSession; timer: ReturnType<typeof setTimeout> | null; nextSeq: number }>();
  private liveStarting = 0;

  constructor(private readonly o: LabServiceOptions) {
    this.recordings = new RecordingsLibrary(o.recordingsDir ?? defaultRecordingsDir(o.modelsDir));
  }

  private modelDir(name: string): string {
    return path.join(this.o.modelsDir, name);
  }

  /** Runs one command; `args` is validated here, whoever sent it. */
  async handle<C extends CommandName>(command: C, rawArgs: unknown): Promise<CommandResult<C>> {
    const result = await this.dispatch(command, rawArgs);
    return result as CommandResult<C>;
  }

  private async dispatch(command: CommandName, rawArgs: unknown): Promise<unknown> {
    switch (command) {
      case 'engine.info': {
        parseCommandArgs(command, rawArgs);
        const b = await initBackend(this.o.backend);
        return {
          protocol: PROTOCOL_VERSION,
          backend: b.name,
          backendsSkipped: b.skipped,
          presets: Object.values(PRESETS).map((p) => ({ name: p.name, description: p.description })),
          modelsDir: this.o.modelsDir,
        };
      }
      case 'engine.doctor': {
        parseCommandArgs(command, rawArgs);
        const { diagnose } = await import('../doctor');
        return diagnose({ modelsDir: this.o.modelsDir });
      }
      case 'signal.preview': {
        const { source } = parseCommandArgs(command, rawArgs);
        if (source.kind === 'recording') {
          // The whole recording: the UI draws the regions over it.
          const r = await this.recordings.read(source.name);
          return preview(r.samples, r.sampleRate, null, source.name);
        }
        if (source.kind === 'samples') {
          checkFinite(source.samples, source.name);
          return preview(source.samples, source.sampleRate, null, source.name);
        }
        const s = await loadSignal(source);
        return preview(s.samples, s.sampleRate, s.noiseFloor, findPreset(source.name)?.description ?? source.name);
      }
      case 'train.start': {
        const a = parseCommandArgs(command, rawArgs);
        const slot = this.claimSlot(a.name, a.runId);
        try {
          // Checked here, not only by train(), so that the UI gets a code it can ask the user about.
          if (!a.overwrite && (await isModelFolder(this.modelDir(a.name)))) {
            throw new LabError('exists', `A model named "${a.name}" already exists; choose another name, or confirm that it should be replaced`);
          }
          await fs.mkdir(this.o.modelsDir, { recursive: true });
          const source = await this.storeSource(a.name, a.source);
          return this.startTraining(slot, { source, model: a.model, config: a.config, backend: a.backend ?? this.o.backend, out: this.modelDir(a.name), overwrite: a.overwrite });
        } catch (e) {
          this.releaseSlot(slot);
          throw e;
        }
      }
      case 'train.resume': {
        const a = parseCommandArgs(command, rawArgs);
        const slot = this.claimSlot(a.name, a.runId);
        try {
          const spec = await readStoredSpec(this.modelDir(a.name));
          // Its folder is swapped at each checkpoint; its source copy must not look unused meanwhile.
          if (spec.source.kind === 'wav') slot.sourcePath = spec.source.path;
          return this.startTraining(slot, { resume: true, config: a.epochs ? { epochs: a.epochs } : {}, backend: this.o.backend, out: this.modelDir(a.name) });
        } catch (e) {
          this.releaseSlot(slot);
          throw e;
        }
      }
      case 'train.cancel': {
        const { runId } = parseCommandArgs(command, rawArgs);
        if (!this.training || this.training.runId !== runId) return { cancelled: false };
        this.training.controller.abort();
        return { cancelled: true };
      }
      case 'generate.start': {
        const a = parseCommandArgs(command, rawArgs);
        if (!(await fs.stat(this.modelDir(a.name)).catch(() => null))) throw new LabError('not_found', `No model named "${a.name}"`);
        const runId = a.runId ?? `gen-${++this.runs}`;
        const r = await generateFromFolder({
          dir: this.modelDir(a.name),
          prime: a.prime,
          offset: a.offset,
          primeRegion: a.primeRegion,
          length: a.length,
          state: a.state,
          sampling: { ...(a.temperature !== undefined ? { temperature: a.temperature } : {}), ...(a.seed !== undefined ? { seed: a.seed } : {}) },
          backend: this.o.backend,
          chunkSize: a.chunkSize ?? 4096,
          onChunk: (samples, from, state) => this.o.emit('generate.chunk', { runId, from, samples, state }),
        });
        return { runId, samples: r.samples, state: r.state, primeSamples: r.primeSamples, truth: r.truth, sampleRate: r.sampleRate };
      }
      case 'models.list': {
        parseCommandArgs(command, rawArgs);
        const names = await fs.readdir(this.o.modelsDir).catch(() => [] as string[]);
        const models: ModelSummary[] = [];
        for (const name of names.sort()) {
          if (name.startsWith('.')) continue;
          const spec = await readStoredSpec(this.modelDir(name)).catch(() => null);
          if (spec) models.push(summarise(name, spec, (await readHistory(this.modelDir(name))).history));
        }
        return { models };
      }
      case 'models.get': {
        const { name } = parseCommandArgs(command, rawArgs);
        if (!(await fs.stat(this.modelDir(name)).catch(() => null))) throw new LabError('not_found', `No model named "${name}"`);
        // A damaged folder says what is wrong with it; one deleted meanwhile is simply gone.
        const spec = await readStoredSpec(this.modelDir(name)).catch(async (e) => {
          if (!(await fs.stat(this.modelDir(name)).catch(() => null))) throw new LabError('not_found', `No model named "${name}"`);
          throw e;
        });
        const { history, batchLosses } = await readHistory(this.modelDir(name));
        return {
          summary: summarise(name, spec, history),
          history,
          batchLosses: Float32Array.from(batchLosses),
          settings: { model: spec.model, train: spec.train, source: spec.source },
        };
      }
      case 'models.delete': {
        const { name } = parseCommandArgs(command, rawArgs);
        if (this.training?.name === name) throw new LabError('busy', `"${name}" is training; cancel it first`);
        const dir = this.modelDir(name);
        const exists = await fs.stat(dir).catch(() => null);
        if (!exists) return { deleted: false };
        // Moved aside first, in one rename: a request reading the model sees it whole or not at all.
        const doomed = path.join(this.o.modelsDir, `.${name}.tmp-${process.pid}-${Date.now().toString(36)}-delete`);
        await fs.rename(dir, doomed);
        await fs.rm(doomed, { recursive: true, force: true });
        await this.pruneSources();
        return { deleted: true };
      }
      case 'recordings.list': {
        parseCommandArgs(command, rawArgs);
        return { dir: this.recordings.dir, recordings: await this.recordings.list() };
      }
      case 'recordings.start': {
        const a = parseCommandArgs(command, rawArgs);
        return this.recordings.start(a);
      }
      case 'recordings.append': {
        const a = parseCommandArgs(command, rawArgs);
        return this.recordings.append(a.id, a.samples);
      }
      case 'recordings.finish': {
        const a = parseCommandArgs(command, rawArgs);
        return { recording: await this.recordings.finish(a.id, a.discard) };
      }
      case 'recordings.read': {
        const { name } = parseCommandArgs(command, rawArgs);
        const r = await this.recordings.read(name);
        return { recording: await this.recordings.summary(name), samples: r.samples };
      }
      case 'recordings.rename': {
        const a = parseCommandArgs(command, rawArgs);
        return { recording: await this.recordings.rename(a.name, a.to) };
      }
      case 'recordings.delete': {
        const { name } = parseCommandArgs(command, rawArgs);
        return { deleted: await this.recordings.delete(name) };
      }
      case 'recordings.import': {
        const a = parseCommandArgs(command, rawArgs);
        return { recording: await this.recordings.import(a.fileName, a.bytes) };
      }
      case 'live.start': {
        const a = parseCommandArgs(command, rawArgs);
        // Counted before anything is awaited, so that starts sent together cannot pass the cap together.
        if (this.live.size + this.liveStarting >= MAX_LIVE_SESSIONS) throw new LabError('busy', `The engine already runs ${MAX_LIVE_SESSIONS} live sessions; stop one first`);
        this.liveStarting++;
        let session: LiveSession;
        try {
          if (!(await fs.stat(this.modelDir(a.name)).catch(() => null))) throw new LabError('not_found', `No model named "${a.name}"`);
          session = await openLiveSession({
            dir: this.modelDir(a.name),
            mode: a.mode,
            batchSize: a.batchSize,
            backend: this.o.backend,
            sampling: { ...(a.temperature !== undefined ? { temperature: a.temperature } : {}), ...(a.seed !== undefined ? { seed: a.seed } : {}) },
          });
        } finally {
          this.liveStarting--;
        }
        if (session.sampleRate !== a.sampleRate) {
          session.dispose();
          throw new LabError('bad_argument', `"${a.name}" runs at ${session.sampleRate} Hz, but the live input is at ${a.sampleRate} Hz; capture at the model's rate`);
        }
        const liveId = `live-${++this.runs}`;
        this.live.set(liveId, { session, timer: null, nextSeq: 0 });
        this.armLive(liveId);
        return { liveId, sampleRate: session.sampleRate, batchSize: session.batchSize, family: session.family };
      }
      case 'live.push': {
        const a = parseCommandArgs(command, rawArgs);
        const l = this.live.get(a.liveId);
        if (!l) throw new LabError('not_found', `No live session "${a.liveId}" (it was stopped, idle for ${LIVE_IDLE_MS / 1000} s, or the engine restarted)`);
        // Batches arrive in order over one connection; a gap means some were lost on the way.
        if (a.seq < l.nextSeq) throw new LabError('bad_argument', `Live batch ${a.seq} arrived after batch ${l.nextSeq - 1}`);
        l.nextSeq = a.seq + 1;
        this.armLive(a.liveId);
        const out = l.session.process(a.samples);
        const st = l.session.stats;
        return { seq: a.seq, samples: out.slice(), state: st.state, computeMs: st.computeMs, levelDbfs: st.levelDbfs };
      }
      case 'live.stop': {
        const { liveId } = parseCommandArgs(command, rawArgs);
        const l = this.live.get(liveId);
        if (!l) throw new LabError('not_found', `No live session "${liveId}"`);
        const st = { ...l.session.stats };
        this.closeLive(liveId);
        return { batches: st.batches, responses: st.responses, meanComputeMs: st.batches ? st.totalComputeMs / st.batches : 0, maxComputeMs: st.maxComputeMs };
      }
    }
  }

  private armLive(liveId: string): void {
    const l = this.live.get(liveId);
    if (!l) return;
    if (l.timer) clearTimeout(l.timer);
    l.timer = setTimeout(() => this.closeLive(liveId), LIVE_IDLE_MS);
    l.timer.unref?.();
  }

  private closeLive(liveId: string): void {
    const l = this.live.get(liveId);
    if (!l) return;
    if (l.timer) clearTimeout(l.timer);
    this.live.delete(liveId);
    l.session.dispose();
  }

  /**
   * Claims the one training slot before anything is awaited, so that two train.start requests sent
   * together cannot both pass the check (the second would otherwise steal the first's cancel handle).
   */
  private claimSlot(name: string, wantedRunId: string | undefined): TrainingSlot {
    if (this.training) throw new LabError('busy', `The engine is already training "${this.training.name}"; cancel it or wait`);
    const slot = { runId: wantedRunId ?? `train-${++this.runs}`, name, controller: new AbortController() };
    this.training = slot;
    return slot;
  }

  private releaseSlot(slot: TrainingSlot): void {
    if (this.training === slot) this.training = null;
  }

  /**
   * Start-up housekeeping: model folders left between the renames of a checkpoint are put back,
   * unfinished temp folders removed, and copies of training sources that no model uses deleted.
   */
  async recover(): Promise<string[]> {
    const done = await recoverModelsDir(this.o.modelsDir);
    const takes = await this.recordings.recover();
    const recovered = takes.recovered.map((r) =>
      r.removed ? `removed empty recording ${path.basename(r.from)}` : `recovered recording ${path.basename(r.path ?? r.from)} (${r.seconds.toFixed(2)} s)`,
    );
    const failed = takes.failed.map((f) => `could not recover ${path.basename(f.path)}: ${f.message}`);
    return [...done, ...recovered, ...failed, ...(await this.pruneSources())];
  }

  /** Deletes copies in .sources/ that no model folder (nor the training in progress) refers to. */
  async pruneSources(): Promise<string[]> {
    const dir = path.join(this.o.modelsDir, SOURCES_DIR);
    const files = await fs.readdir(dir).catch(() => [] as string[]);
    if (!files.length) return [];
    const used = new Set<string>();
    if (this.training?.sourcePath) {
      used.add(path.resolve(this.training.sourcePath));
      used.add(path.resolve(`${this.training.sourcePath}.tmp`)); // a recording being copied in
    }
    for (const name of await fs.readdir(this.o.modelsDir).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      const spec = await readStoredSpec(this.modelDir(name)).catch(() => null);
      if (spec?.source.kind === 'wav') used.add(path.resolve(spec.source.path));
    }
    const removed: string[] = [];
    for (const f of files) {
      const file = path.resolve(dir, f);
      if (used.has(file)) continue;
      await fs.rm(file, { force: true });
      removed.push(`removed unused source copy ${f}`);
    }
    return removed;
  }

  /**
   * Audio from the UI is kept as a WAV beside the models, so that the model can reload it: decoded
   * samples written, a library recording copied (renaming or deleting the recording later leaves the
   * model whole). The regions travel with it into the model's spec.
   */
  private async storeSource(name: string, source: ParsedUiSource): Promise<SignalSource> {
    if (source.kind === 'preset') return source;
    const dir = path.join(this.o.modelsDir, SOURCES_DIR);
    const file = path.join(dir, `${name}-${Date.now().toString(36)}.wav`);
    if (source.kind === 'recording') {
      const { sampleRate, seconds } = await this.recordings.summary(source.name);
      for (const [what, r] of [['region', source.region], ['primeRegion', source.primeRegion]] as const) {
        if (r && r.start >= seconds) throw new LabError('bad_argument', `The ${what === 'region' ? 'training region' : 'prime region'} starts at ${r.start.toFixed(2)} s, after the end of "${source.name}" (${seconds.toFixed(2)} s)`);
      }
      if (this.training) this.training.sourcePath = file; // not pruned while this run starts
      await this.recordings.copyTo(source.name, file);
      return { kind: 'wav', path: file, sampleRate, recording: source.name, ...(source.region ? { region: source.region } : {}), ...(source.primeRegion ? { primeRegion: source.primeRegion } : {}) };
    }
    checkFinite(source.samples, source.name);
    await fs.mkdir(dir, { recursive: true });
    if (this.training) this.training.sourcePath = file; // not pruned while this run starts
    await writeFileAtomic(file, encodeWav(source.samples, source.sampleRate));
    return { kind: 'wav', path: file, sampleRate: source.sampleRate };
  }

  private startTraining(slot: TrainingSlot, req: Omit<Parameters<typeof train>[0], 'signal' | 'onEvent'>): { runId: string } {
    const { runId, name, controller } = slot;
    void train({ ...req, signal: controller.signal, onEvent: (progress) => this.o.emit('train.progress', { runId, name, progress }) })
      .then(
        (r) => this.o.emit('train.done', { runId, name, outcome: r.outcome, message: r.message, metrics: r.metrics, error: null }),
        (e) => this.o.emit('train.done', { runId, name, outcome: null, message: null, metrics: null, error: toErrorData(e) }),
      )
      .finally(() => {
        this.releaseSlot(slot);
        // A run that failed or was cancelled before its first checkpoint leaves its source copy unused.
        void this.pruneSources().catch(() => {});
      });
    return { runId };
  }
}

/** What the UI draws of a signal (signal.preview's result): its length, min/max peaks and spectrogram. */
function preview(samples: Float32Array, sampleRate: number, noiseFloor: number | null, description: string): CommandResult<'signal.preview'> {
  return { length: samples.length, sampleRate, peaks: computePeaks(samples), spectrogram: spectrogramImage(samples, sampleRate), noiseFloor, description };
}

function checkFinite(x: Float32Array, name: string): void {
  if (x.length === 0) throw new LabError('bad_signal', `${name} holds no samples`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new LabError('bad_signal', `${name} has a non-finite sample at ${i}`);
}
