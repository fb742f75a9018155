// Microphone recordings written as they arrive: each batch of samples is appended to a WAV file whose
// header sizes are rewritten and fsynced at least once a second, so that a crash or a closed window
// loses at most the last second and leaves a file src/shared/signals/wav.ts still reads (up to the
// last header rewrite). A recording in progress is named `<name>.part.wav`; a clean finish renames it
// to `<name>.wav`, and recoverRecordings() at start-up repairs and renames whatever a crash left.
//
// 32-bit float mono, not 16-bit PCM: capture hands over floats, so they are stored exactly (a
// recording read back is the signal that was trained on, no rounding or clipping choices), in the same
// format encodeWav() writes. The price is twice the size: 64 kB/s at 16 kHz, 690 MB an hour at 48 kHz.
import { constants } from 'node:fs';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LabError, checkInteger } from '../../shared/errors';
import { MAX_SAMPLE_RATE } from '../../shared/dsp/resample';

/** Rewrite the header sizes (and fsync) at least this often while samples arrive. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** A recording in progress; the suffix recovery looks for. */
export const PART_SUFFIX = '.part.wav';
const HEADER_BYTES = 44;
const BYTES_PER_SAMPLE = 4;
/** The data chunk's size field is 32 bits: about 6 hours at 48 kHz. */
export const MAX_RECORDING_SAMPLES = Math.floor((0xffffffff - HEADER_BYTES) / BYTES_PER_SAMPLE);
/** Names become file names: letters, digits, space, dot, dash, underscore, parentheses; no path. */
const NAME_PATTERN = /^[\w][\w .()-]{0,119}$/;

export interface RecordingWriterOptions {
  sampleRate: number;
  /** File name without extension; `recording-<ISO time>` by default. */
  name?: string;
  /** See DEFAULT_FLUSH_INTERVAL_MS. */
  flushIntervalMs?: number;
}

export interface FinishedRecording {
  path: string;
  samples: number;
  seconds: number;
}

/** The canonical 44-byte header of a mono 32-bit float WAV holding `samples` samples. */
function header(sampleRate: number, samples: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  const dataBytes = samples * BYTES_PER_SAMPLE;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * BYTES_PER_SAMPLE, 28);
  h.writeUInt16LE(BYTES_PER_SAMPLE, 32); // block align
  h.writeUInt16LE(32, 34); // bits per sample
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export class RecordingWriter {
  /** Where the recording is being written (`….part.wav` until finish()). */
  readonly path: string;
  readonly sampleRate: number;
  private readonly finalPath: string;
  private readonly flushIntervalMs: number;
  private file: FileHandle | null;
  private samples = 0;
  private flushedSamples = 0;
  private lastFlush = Date.now();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Appends, flushes and the finish run one after another, in call order, even when callers do not await. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts `<folder>/<name>.part.wav` (never replacing a file) with an empty, fsynced header. */
  static async create(folder: string, options: RecordingWriterOptions): Promise<RecordingWriter> {
    checkInteger('sampleRate', options.sampleRate, 1, MAX_SAMPLE_RATE);
    const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    checkInteger('flushIntervalMs', flushIntervalMs, 0);
    const name = options.name ?? `recording-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    if (!NAME_PATTERN.test(name) || name.endsWith('.part')) {
      throw new LabError('bad_argument', `Expected a recording name of letters, digits, spaces and . - _ ( ) (at most 120), but got "${name}"`);
    }
    const path = join(folder, name + PART_SUFFIX);
    const finalPath = join(folder, `${name}.wav`);
    if (await exists(finalPath)) throw new LabError('exists', `A recording named "${name}" already exists in ${folder}`);
    let file: FileHandle;
    try {
      file = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new LabError('exists', `A recording named "${name}" is already in progress (or was left by a crash) in ${folder}`);
      throw new LabError('bad_file', `Cannot start a recording in ${folder}: ${(e as Error).message}`);
    }
    try {
      await file.write(header(options.sampleRate, 0), 0, HEADER_BYTES, 0);
      await file.sync();
    } catch (e) {
      await file.close().catch(() => {});
      await rm(path, { force: true });
      throw new LabError('bad_file', `Cannot start a recording at ${path}: ${(e as Error).message}`);
    }
    return new RecordingWriter(file, path, finalPath, options.sampleRate, flushIntervalMs);
  }

  private constructor(file: FileHandle, path: string, finalPath: string, sampleRate: number, flushIntervalMs: number) {
    this.file = file;
    this.path = path;
    this.finalPath = finalPath;
    this.sampleRate = sampleRate;
    this.flushIntervalMs = flushIntervalMs;
  }

  /** Samples appended so far (some may not be in the header yet). */
  get length(): number {
    return this.samples;
  }

  /**
   * Appends a batch. Refuses non-finite samples (the whole batch: a half-written batch would be worse)
   * and appends after finish() or discard(). The header is rewritten once the flush interval has
   * passed, here or from a timer if no further batch comes.
   */
  append(batch: Float32Array): Promise<void> {
    if (this.closed) throw new LabError('bad_argument', `Cannot append to ${basename(this.path)}: the recording is finished`);
    if (!(batch instanceof Float32Array)) throw new LabError('bad_argument', `Expected a Float32Array batch, but got ${Object.prototype.toString.call(batch)}`);
    for (let i = 0; i < batch.length; i++) {
      if (!Number.isFinite(batch[i])) throw new LabError('bad_signal', `Cannot record sample ${i} of the batch: it is ${batch[i]}`);
    }
    if (this.samples + batch.length > MAX_RECORDING_SAMPLES) {
      throw new LabError('bad_argument', `${basename(this.path)} is full: a WAV holds at most ${MAX_RECORDING_SAMPLES} samples`);
    }
    const at = HEADER_BYTES + this.samples * BYTES_PER_SAMPLE;
    this.samples += batch.length;
    // Copied now: the caller may reuse its buffer before the queued write runs.
    const bytes = Buffer.from(batch.buffer.slice(batch.byteOffset, batch.byteOffset + batch.byteLength));
    return this.enqueue(async (file) => {
      await file.write(bytes, 0, bytes.length, at);
      if (Date.now() - this.lastFlush >= this.flushIntervalMs) await this.writeHeader(file);
      else if (!this.timer) {
        this.timer = setTimeout(() => void this.flush().catch(() => {}), this.flushIntervalMs);
        this.timer.unref?.(); // a pending flush does not keep the command line alive
      }
    });
  }

  /** Rewrites the header sizes for everything appended so far and fsyncs. */
  flush(): Promise<void> {
    if (this.closed) return this.queue.then(() => {});
    return this.enqueue((file) => this.writeHeader(file));
  }

  /** Flushes, closes and renames `….part.wav` to `….wav`. */
  finish(): Promise<FinishedRecording> {
    if (this.closed) throw new LabError('bad_argument', `${basename(this.path)} is already finished`);
    this.closed = true;
    return this.enqueue(async (file) => {
      await this.writeHeader(file);
      await this.close(file);
      await rename(this.path, this.finalPath);
      return { path: this.finalPath, samples: this.samples, seconds: this.samples / this.sampleRate };
    });
  }

  /** Stops and deletes the recording (the user threw it away). */
  discard(): Promise<void> {
    if (this.closed) return this.queue.then(() => {}); // finished (kept) or already discarded
    this.closed = true;
    return this.enqueue(async (file) => {
      await this.close(file);
      await rm(this.path, { force: true });
    });
  }

  private enqueue<T>(work: (file: FileHandle) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (!this.file) throw new LabError('bad_argument', `${basename(this.path)} is closed`);
      return work(this.file);
    });
    this.queue = run.catch(() => {}); // one failed write does not wedge the queue; its caller sees the error
    return run;
  }

  private async writeHeader(file: FileHandle): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastFlush = Date.now();
    if (this.flushedSamples === this.samples) return;
    const written = this.samples;
    await file.write(header(this.sampleRate, written), 0, HEADER_BYTES, 0);
    await file.datasync(); // the data and the sizes that cover it reach the disk together
    this.flushedSamples = written;
  }

  private async close(file: FileHandle): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.file = null;
    await file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Whether 44 bytes are this lab's own header: a mono 32-bit float WAV with its data chunk straight after (sizes unchecked). */
export function isOwnHeader(h: Buffer): boolean {
  return (
    h.length >= HEADER_BYTES &&
    h.toString('latin1', 0, 4) === 'RIFF' &&
    h.toString('latin1', 8, 16) === 'WAVEfmt ' &&
    h.readUInt32LE(16) === 16 &&
    h.readUInt16LE(20) === 3 &&
    h.readUInt16LE(22) === 1 &&
    h.readUInt16LE(34) === 32 &&
    h.toString('latin1', 36, 40) === 'data'
  );
}

export interface RecoveryReport {
  /** The recording's path now (`….wav` once a `.part.wav` has been renamed), or null if it was removed. */
  path: string | null;
  /** The file recovery looked at. */
  from: string;
  samples: number;
  seconds: number;
  /** The header sizes were stale and have been rewritten. */
  repaired: boolean;
  /** Bytes of a half-written sample cut off the end. */
  droppedBytes: number;
  /** It held no samples and was deleted. */
  removed: boolean;
}

/**
 * Makes a recording a crash interrupted whole again: header sizes from the file's actual length
 * (whole samples only, a torn last sample cut off), fsynced; a `….part.wav` is then renamed to
 * `….wav` (`… (recovered N).wav` if that exists) and one with no samples is deleted. A file in
 * RecordingWriter's layout with correct sizes is left as it is. Throws `bad_file` for anything else.
 */
export async function recoverRecording(path: string): Promise<RecoveryReport> {
  const name = basename(path);
  let file: FileHandle;
  try {
    file = await open(path, 'r+');
  } catch (e) {
    throw new LabError('bad_file', `Cannot open ${name} to recover it: ${(e as Error).message}`);
  }
  let report: RecoveryReport;
  try {
    const { size } = await file.stat();
    const h = Buffer.alloc(HEADER_BYTES);
    await file.read(h, 0, HEADER_BYTES, 0);
    if (size < HEADER_BYTES || !isOwnHeader(h)) throw new LabError('bad_file', `${name} is not a recording this lab wrote (${size} bytes, no mono float WAV header), so it cannot be recovered`);
    const sampleRate = h.readUInt32LE(24);
    if (sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) throw new LabError('bad_file', `${name} has a damaged header: sample rate ${sampleRate}`);
    const samples = Math.min(MAX_RECORDING_SAMPLES, Math.floor((size - HEADER_BYTES) / BYTES_PER_SAMPLE));
    const wholeBytes = HEADER_BYTES + samples * BYTES_PER_SAMPLE;
    const stale = h.readUInt32LE(40) !== samples * BYTES_PER_SAMPLE || h.readUInt32LE(4) !== wholeBytes - 8;
    if (wholeBytes < size) await file.truncate(wholeBytes);
    if (stale) await file.write(header(sampleRate, samples), 0, HEADER_BYTES, 0);
    if (stale || wholeBytes < size) await file.sync();
    report = { path, from: path, samples, seconds: samples / sampleRate, repaired: stale, droppedBytes: size - wholeBytes, removed: false };
  } finally {
    await file.close();
  }
  if (report.samples === 0) {
    await rm(path, { force: true });
    return { ...report, path: null, removed: true };
  }
  if (path.endsWith(PART_SUFFIX)) {
    const stem = path.slice(0, -PART_SUFFIX.length);
    let target = `${stem}.wav`;
    for (let n = 1; await exists(target); n++) target = `${stem} (recovered${n > 1 ? ` ${n}` : ''}).wav`;
    await rename(path, target);
    report.path = target;
  }
  return report;
}

/** Recovers every `*.part.wav` in `folder` (at start-up, before any new recording starts there). */
export async function recoverRecordings(folder: string): Promise<{ recovered: RecoveryReport[]; failed: { path: string; message: string }[] }> {
  const recovered: RecoveryReport[] = [];
  const failed: { path: string; message: string }[] = [];
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { recovered, failed };
    throw e;
  }
  for (const name of names.filter((n) => n.endsWith(PART_SUFFIX)).sort()) {
    const path = join(folder, name);
    try {
      recovered.push(await recoverRecording(path));
    } catch (e) {
      failed.push({ path, message: (e as Error).message });
    }
  }
  return { recovered, failed };
}
