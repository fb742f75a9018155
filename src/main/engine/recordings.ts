// The recordings library: microphone takes and imported files, one mono WAV each, in the models
// folder's sibling `recordings/` (kept apart so that deleting a model never deletes a recording).
// Takes stream in batch by batch through RecordingWriter (a crash loses at most the last second);
// imports are decoded (WAV, FLAC, MP3, Ogg Vorbis), mixed to mono and written whole, atomically, or
// not at all. A model trains on a copy (service.ts), so renaming or deleting a recording never
// breaks a model.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LabError } from '../../shared/errors';
import { encodeWav, decodeWav } from '../../shared/signals/wav';
import { signalTooLong } from '../../shared/limits';
import { decodeAudioFile } from './decode-audio';
import { isOwnHeader, PART_SUFFIX, RecordingWriter, recoverRecording, type RecoveryReport } from './recording-writer';
import { writeFileAtomic } from './store';

/** A recording as the library lists it. */
export interface RecordingSummary {
  /** The file name without `.wav`: what the user sees, renames and trains on. */
  name: string;
  sampleRate: number;
  samples: number;
  seconds: number;
  bytes: number;
  /** ISO 8601 time of the last change. */
  modifiedAt: string;
}

/** Names become file names: letters, digits, space, dot, dash, underscore, parentheses; no path (RecordingWriter's rule). */
const NAME_PATTERN = /^[\w][\w .()-]{0,119}$/;
/** A take that receives nothing for this long is finished as it is (its page went away). */
export const IDLE_FINISH_MS = 30_000;

export function checkRecordingName(name: string): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.endsWith('.part')) {
    throw new LabError('bad_argument', `Expected a recording name of letters, digits, spaces and . - _ ( ) (at most 120, not ending in .part), but got "${String(name)}"`);
  }
  return name;
}

/** A usable recording name from a file name: its stem, other characters turned into '-'. */
export function nameFromFile(fileName: string): string {
  const stem = path.basename(String(fileName)).replace(/\.[A-Za-z0-9]{1,5}$/, '');
  const clean = stem.replace(/[^\w .()-]/g, '-').replace(/^[^\w]+/, '').slice(0, 100).replace(/\.part$/, '-part').trim();
  return clean || 'import';
}

interface Take {
  writer: RecordingWriter;
  name: string;
  timer: ReturnType<typeof setTimeout> | null;
}

export class RecordingsLibrary {
  private readonly takes = new Map<string, Take>();
  private ids = 0;

  constructor(readonly dir: string) {}

  private file(name: string): string {
    return path.join(this.dir, `${checkRecordingName(name)}.wav`);
  }

  /** The lock beside a take in progress: the pid of the engine writing it. */
  private lockOf(name: string): string {
    return path.join(this.dir, `.${name}.lock`);
  }

  /**
   * Repairs what a crash left (`*.part.wav`), before anything else uses the folder. A take whose lock
   * names a process that is still alive is being recorded by another engine (the desktop app beside
   * `serve`, or a CLI listing the library meanwhile) and is left alone.
   */
  async recover(): Promise<{ recovered: RecoveryReport[]; failed: { path: string; message: string }[] }> {
    const recovered: RecoveryReport[] = [];
    const failed: { path: string; message: string }[] = [];
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const f of names.filter((n) => n.endsWith(PART_SUFFIX)).sort()) {
      const name = f.slice(0, -PART_SUFFIX.length);
      const lock = this.lockOf(name);
      const pid = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      if (pid > 0 && pid !== process.pid && alive(pid)) continue;
      if ([...this.takes.values()].some((t) => t.name === name)) continue; // our own, in progress
      try {
        recovered.push(await recoverRecording(path.join(this.dir, f)));
        await fs.rm(lock, { force: true });
      } catch (e) {
        failed.push({ path: path.join(this.dir, f), message: (e as Error).message });
      }
    }
    return { recovered, failed };
  }

  async list(): Promise<RecordingSummary[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: RecordingSummary[] = [];
    for (const f of names.sort((a, b) => a.localeCompare(b))) {
      if (!f.endsWith('.wav') || f.endsWith(PART_SUFFIX) || !NAME_PATTERN.test(f.slice(0, -4))) continue;
      const s = await this.summary(f.slice(0, -4)).catch(() => null); // a file that is not a readable WAV is not listed
      if (s) out.push(s);
    }
    return out;
  }

  /** One recording's length and rate (from its header; the whole file only when the header is not the lab's own layout). */
  async summary(name: string): Promise<RecordingSummary> {
    const file = this.file(name);
    const st = await fs.stat(file).catch(() => null);
    if (!st?.isFile()) throw new LabError('not_found', `No recording named "${name}"`);
    const fd = await fs.open(file, 'r');
    let sampleRate = 0;
    let samples = -1;
    try {
      const h = Buffer.alloc(44);
      await fd.read(h, 0, 44, 0);
      if (isOwnHeader(h) && h.readUInt32LE(40) === st.size - 44) {
        sampleRate = h.readUInt32LE(24);
        samples = (st.size - 44) / 4;
      }
    } finally {
      await fd.close();
    }
    if (samples < 0) ({ sampleRate, samples } = await this.read(name).then((r) => ({ sampleRate: r.sampleRate, samples: r.samples.length })));
    return { name, sampleRate, samples, seconds: samples / sampleRate, bytes: st.size, modifiedAt: st.mtime.toISOString() };
  }

  /** The recording's samples (mono) and rate. */
  async read(name: string): Promise<{ samples: Float32Array; sampleRate: number; path: string }> {
    const file = this.file(name);
    const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new LabError('not_found', `No recording named "${name}"`) : new LabError('bad_file', `Cannot read recording "${name}": ${e.message}`);
    });
    const wav = decodeWav(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `Recording "${name}"`);
    return { samples: wav.samples, sampleRate: wav.sampleRate, path: file };
  }

  /** The path of an existing recording. */
  async pathOf(name: string): Promise<string> {
    const file = this.file(name);
    if (!(await fs.stat(file).catch(() => null))?.isFile()) throw new LabError('not_found', `No recording named "${name}"`);
    return file;
  }

  /**
   * Copies a recording to `file` (a training run's own copy, so that renaming or deleting the recording
   * later leaves the model whole): through `<file>.tmp` and a rename, so `file` is whole or absent.
   */
  async copyTo(name: string, file: string): Promise<void> {
    const from = await this.pathOf(name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.copyFile(from, `${file}.tmp`);
    await fs.rename(`${file}.tmp`, file);
  }

  /** A name not yet taken by a recording or a take in progress: `base`, `base (2)`, … */
  private async freeName(base: string): Promise<string> {
    checkRecordingName(base);
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base.slice(0, 110)} (${n})`;
      const taken = (await this.takenNow(path.join(this.dir, `${name}.wav`))) || (await this.takenNow(path.join(this.dir, name + PART_SUFFIX)));
      if (!taken && ![...this.takes.values()].some((t) => t.name === name)) return name;
    }
  }

  private async takenNow(file: string): Promise<boolean> {
    return (await fs.stat(file).catch(() => null)) !== null;
  }

  /** Starts a take; batches follow with append(). */
  async start(o: { name?: string; sampleRate: number }): Promise<{ id: string; name: string }> {
    await fs.mkdir(this.dir, { recursive: true });
    const base = o.name ?? `take ${new Date().toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '-')}`;
    const name = o.name !== undefined ? checkRecordingName(o.name) : await this.freeName(base);
    if (o.name !== undefined && (await this.takenNow(this.file(name)))) throw new LabError('exists', `A recording named "${name}" already exists`);
    const writer = await RecordingWriter.create(this.dir, { sampleRate: o.sampleRate, name });
    await fs.writeFile(this.lockOf(name), String(process.pid));
    const id = `rec-${++this.ids}`;
    const take: Take = { writer, name, timer: null };
    this.takes.set(id, take);
    this.arm(id, take);
    return { id, name };
  }

  /** Finishes a take after IDLE_FINISH_MS without a batch: its page closed or lost the connection. */
  private arm(id: string, take: Take): void {
    if (take.timer) clearTimeout(take.timer);
    take.timer = setTimeout(() => void this.finish(id).catch(() => {}), IDLE_FINISH_MS);
    take.timer.unref?.();
  }

  private take(id: string): Take {
    const t = this.takes.get(id);
    if (!t) throw new LabError('not_found', `No recording in progress with id "${id}" (it was finished, or the engine restarted)`);
    return t;
  }

  /** Appends a batch to take `id`; returns the samples recorded so far. */
  async append(id: string, samples: Float32Array): Promise<{ samples: number; seconds: number }> {
    const t = this.take(id);
    this.arm(id, t);
    await t.writer.append(samples);
    return { samples: t.writer.length, seconds: t.writer.length / t.writer.sampleRate };
  }

  /** Ends take `id`: kept (renamed from `.part.wav`), or with `discard` deleted. Empty takes are not kept. */
  async finish(id: string, discard = false): Promise<RecordingSummary | null> {
    const t = this.take(id);
    this.takes.delete(id);
    if (t.timer) clearTimeout(t.timer);
    try {
      if (discard || t.writer.length === 0) {
        await t.writer.discard();
        return null;
      }
      await t.writer.finish();
    } finally {
      await fs.rm(this.lockOf(t.name), { force: true });
    }
    return this.summary(t.name);
  }

  async rename(name: string, to: string): Promise<RecordingSummary> {
    const from = this.file(name);
    const target = this.file(to);
    if ([...this.takes.values()].some((t) => t.name === name)) throw new LabError('busy', `"${name}" is still being recorded`);
    if (!(await this.takenNow(from))) throw new LabError('not_found', `No recording named "${name}"`);
    if (name === to) return this.summary(to);
    // A take in progress under that name (here or in another engine) would replace it when it finishes.
    if ((await this.takenNow(path.join(this.dir, to + PART_SUFFIX))) || [...this.takes.values()].some((t) => t.name === to)) {
      throw new LabError('exists', `A recording named "${to}" is being recorded`);
    }
    if (await this.takenNow(target)) throw new LabError('exists', `A recording named "${to}" already exists`);
    // link + unlink rather than rename: rename would silently replace a file that appeared meanwhile.
    await fs.link(from, target).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? new LabError('exists', `A recording named "${to}" already exists`) : new LabError('bad_file', `Cannot rename "${name}": ${e.message}`);
    });
    await fs.rm(from, { force: true });
    return this.summary(to);
  }

  async delete(name: string): Promise<boolean> {
    const file = this.file(name);
    if ([...this.takes.values()].some((t) => t.name === name)) throw new LabError('busy', `"${name}" is still being recorded; stop it first`);
    if (!(await this.takenNow(file))) return false;
    await fs.rm(file, { force: true });
    return true;
  }

  /**
   * Decodes an audio file's bytes (WAV, FLAC, MP3, Ogg Vorbis; mixed to mono, at its own rate: the model's
   * rate is chosen when it trains, by the sinc resampler) and stores it as a recording named after the
   * file. Nothing is stored when the file is refused (`bad_file` naming it and the reason).
   */
  async import(fileName: string, bytes: Uint8Array): Promise<RecordingSummary> {
    const label = path.basename(String(fileName)) || 'the file';
    const audio = await decodeAudioFile(bytes, label);
    const tooLong = signalTooLong(label, audio.samples.length);
    if (tooLong) throw new LabError('bad_file', tooLong);
    for (let i = 0; i < audio.samples.length; i++) {
      if (!Number.isFinite(audio.samples[i])) throw new LabError('bad_file', `${label} is corrupt: sample ${i} decodes to ${audio.samples[i]}`);
    }
    await fs.mkdir(this.dir, { recursive: true });
    // Written whole under a hidden name, then linked to a free name: link never replaces a file, so
    // two imports of the same name at once (two tabs, the CLI beside the UI) both keep theirs.
    const staged = path.join(this.dir, `.import-${process.pid}-${Date.now().toString(36)}-${++this.ids}.wav`);
    await writeFileAtomic(staged, encodeWav(audio.samples, audio.sampleRate));
    try {
      for (;;) {
        const name = await this.freeName(nameFromFile(label));
        try {
          await fs.link(staged, this.file(name));
          return await this.summary(name);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new LabError('bad_file', `Cannot store ${label}: ${(e as Error).message}`);
        }
      }
    } finally {
      await fs.rm(staged, { force: true });
    }
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
