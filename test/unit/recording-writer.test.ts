// Recordings written as they arrive: batches read back exactly, the file stays readable between
// header rewrites, and what a crash leaves (stale sizes, a torn last sample, a .part.wav) is repaired.
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PART_SUFFIX, RecordingWriter, recoverRecording, recoverRecordings } from '../../src/main/engine/recording-writer';
import { decodeWav } from '../../src/shared/signals/wav';

const RATE = 16_000;
/** Batches as capture sends them: 100 ms each, values that float32 holds exactly but are not trivial. */
const batch = (k: number, n = 1600) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.01 * (k * n + i)) * 0.5);
const joined = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};
const decodeFile = async (path: string) => decodeWav(new Uint8Array(await readFile(path)), path);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recording-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RecordingWriter', () => {
  it('appends batches and reads them back exactly, as <name>.wav once finished', async () => {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'take 1' });
    expect(w.path).toBe(join(dir, `take 1${PART_SUFFIX}`));
    const parts = [batch(0), batch(1), batch(2, 333)];
    for (const p of parts) await w.append(p);
    const done = await w.finish();
    expect(done).toEqual({ path: join(dir, 'take 1.wav'), samples: 3533, seconds: 3533 / RATE });
    expect(await readdir(dir)).toEqual(['take 1.wav']);
    const back = await decodeFile(done.path);
    expect(back.sampleRate).toBe(RATE);
    expect(back.bitDepth).toBe('32f');
    expect(back.samples).toEqual(joined(...parts));
  });

  it('keeps order when the caller does not await, and copies a batch whose buffer is reused', async () => {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'fast' });
    const reused = new Float32Array(4);
    const writes: Promise<void>[] = [];
    for (let k = 0; k < 5; k++) {
      reused.fill(k);
      writes.push(w.append(reused));
    }
    await Promise.all(writes);
    const back = await decodeFile((await w.finish()).path);
    expect(Array.from(back.samples)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
  });

  it('is readable while in progress up to the last header rewrite, which a timer does within the interval', async () => {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'live', flushIntervalMs: 20 });
    await w.append(batch(0));
    await w.append(batch(1));
    await vi.waitFor(async () => expect((await decodeFile(w.path)).samples.length).toBe(3200), { timeout: 2000, interval: 10 });
    await w.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses non-finite samples (appending nothing), writes after finish, and bad names or rates', async () => {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'strict', flushIntervalMs: 0 });
    await w.append(batch(0, 10));
    expect(() => w.append(Float32Array.of(0.1, NaN))).toThrow(/sample 1 of the batch: it is NaN/);
    expect(() => w.append(Float32Array.of(Infinity))).toThrow(/Infinity/);
    expect(w.length).toBe(10);
    await w.finish();
    expect(() => w.append(batch(1, 10))).toThrow(/strict\.part\.wav: the recording is finished/);
    expect(() => w.finish()).toThrow(/already finished/);
    expect((await decodeFile(join(dir, 'strict.wav'))).samples).toEqual(batch(0, 10));
    await expect(RecordingWriter.create(dir, { sampleRate: RATE, name: 'strict' })).rejects.toThrow(/already exists/);
    await expect(RecordingWriter.create(dir, { sampleRate: RATE, name: '../escape' })).rejects.toThrow(/"\.\.\/escape"/);
    await expect(RecordingWriter.create(dir, { sampleRate: 0 })).rejects.toThrow(/sampleRate.*got 0/);
  });
});

describe('recoverRecording', () => {
  /** What a crash leaves: batches written, one header rewrite part-way, no finish; the bytes on disk copied out. */
  async function crashed(name: string, tornBytes = 0): Promise<{ path: string; flushed: Float32Array; all: Float32Array }> {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: `${name}-live`, flushIntervalMs: 3_600_000 });
    await w.append(batch(0));
    await w.flush();
    await w.append(batch(1));
    await w.append(batch(2));
    const bytes = await readFile(w.path);
    await w.discard();
    const path = join(dir, name + PART_SUFFIX);
    await writeFile(path, bytes);
    if (tornBytes) await truncate(path, bytes.length - tornBytes); // the last sample half-written
    return { path, flushed: batch(0), all: joined(batch(0), batch(1), batch(2)) };
  }

  it('reads a crashed file up to the last rewrite without repair, and all whole samples after it', async () => {
    const { path, flushed, all } = await crashed('crash', 2);
    expect((await decodeFile(path)).samples).toEqual(flushed); // stale sizes, but readable
    const report = await recoverRecording(path);
    expect(report).toEqual({ path: join(dir, 'crash.wav'), from: path, samples: 4799, seconds: 4799 / RATE, repaired: true, droppedBytes: 2, removed: false });
    expect((await decodeFile(report.path!)).samples).toEqual(all.subarray(0, 4799));
  });

  it('leaves a whole recording as it is, and refuses a file it did not write by name', async () => {
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'whole' });
    await w.append(batch(0));
    const { path } = await w.finish();
    const before = await readFile(path);
    expect(await recoverRecording(path)).toMatchObject({ path, repaired: false, droppedBytes: 0, samples: 1600 });
    expect(await readFile(path)).toEqual(before);
    await writeFile(join(dir, 'notes.part.wav'), 'not a recording at all, just some text');
    await expect(recoverRecording(join(dir, 'notes.part.wav'))).rejects.toThrow(/notes\.part\.wav is not a recording this lab wrote/);
  });

  it('at start-up turns every .part.wav into a recording, removes empty ones, never replaces a file, and reports failures', async () => {
    await crashed('a');
    const w = await RecordingWriter.create(dir, { sampleRate: RATE, name: 'empty' });
    await w.flush();
    await writeFile(join(dir, 'b.wav'), 'taken');
    const { path: bPart } = await crashed('b', 1);
    const emptyCopy = await readFile(w.path);
    await w.discard();
    await writeFile(join(dir, `empty${PART_SUFFIX}`), emptyCopy);
    await writeFile(join(dir, `junk${PART_SUFFIX}`), 'x');
    const { recovered, failed } = await recoverRecordings(dir);
    expect(recovered.map((r) => [r.path && r.path.slice(dir.length + 1), r.samples, r.removed])).toEqual([
      ['a.wav', 4800, false],
      ['b (recovered).wav', 4799, false],
      [null, 0, true],
    ]);
    expect(recovered[1].from).toBe(bPart);
    expect(failed).toEqual([{ path: join(dir, `junk${PART_SUFFIX}`), message: expect.stringMatching(/junk\.part\.wav is not a recording/) }]);
    expect((await readdir(dir)).sort()).toEqual(['a.wav', 'b (recovered).wav', 'b.wav', `junk${PART_SUFFIX}`]);
    expect(await recoverRecordings(join(dir, 'missing'))).toEqual({ recovered: [], failed: [] });
  });
});
