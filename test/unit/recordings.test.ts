// The recordings library through the engine's commands: takes streamed in and kept, listed, read,
// renamed, deleted; imports decoded and stored whole or not at all; a take a crash interrupted
// recovered at start-up; a model trained on a region of a recording keeps working after the
// recording is renamed or deleted, and deleting the model never deletes the recording.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WaveFile } from 'wavefile';
import { defaultRecordingsDir, LabService } from '../../src/main/engine/service';
import { nameFromFile } from '../../src/main/engine/recordings';
import { RecordingWriter } from '../../src/main/engine/recording-writer';
import { readStoredSpec } from '../../src/main/engine/store';
import { decodeWav } from '../../src/shared/signals/wav';
import type { EventPayload } from '../../src/shared/protocol';
import { useBackend } from './helpers';

let root: string;
let service: LabService;
let finished: Map<string, EventPayload<'train.done'>>;

function tone(n: number, rate: number, hz = 220, amp = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}

function newService(): LabService {
  return new LabService({
    modelsDir: path.join(root, 'models'),
    backend: 'wasm',
    emit: (event, p) => event === 'train.done' && finished.set((p as EventPayload<'train.done'>).runId, p as EventPayload<'train.done'>),
  });
}

async function record(name: string, x: Float32Array, rate: number, batch = 128): Promise<void> {
  const { id } = await service.handle('recordings.start', { name, sampleRate: rate });
  for (let i = 0; i < x.length; i += batch) await service.handle('recordings.append', { id, samples: x.slice(i, i + batch) });
  await service.handle('recordings.finish', { id });
}

async function waitDone(runId: string): Promise<EventPayload<'train.done'>> {
  for (;;) {
    const d = finished.get(runId);
    if (d) return d;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  await useBackend();
});

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-recordings-'));
  finished = new Map();
  service = newService();
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('the recordings library', () => {
  it('lives beside the models folder, not inside it', () => {
    expect(service.recordings.dir).toBe(path.join(root, 'recordings'));
    expect(defaultRecordingsDir('/a/b/models')).toBe('/a/b/recordings');
  });

  it('keeps a take streamed in batches exactly, lists, reads, renames and deletes it', async () => {
    const x = tone(16_000 + 77, 16_000);
    await record('hum', x, 16_000);
    const { recordings } = await service.handle('recordings.list', {});
    expect(recordings).toEqual([expect.objectContaining({ name: 'hum', sampleRate: 16_000, samples: x.length, seconds: x.length / 16_000 })]);
    expect((await service.handle('recordings.read', { name: 'hum' })).samples).toEqual(x);

    await record('other', tone(500, 8000), 8000);
    await expect(service.handle('recordings.rename', { name: 'hum', to: 'other' })).rejects.toMatchObject({ code: 'exists', message: expect.stringMatching(/"other" already exists/) });
    expect((await service.handle('recordings.rename', { name: 'hum', to: 'hum (take 1)' })).recording.name).toBe('hum (take 1)');
    expect((await service.handle('recordings.list', {})).recordings.map((r) => r.name)).toEqual(['hum (take 1)', 'other']);
    await expect(service.handle('recordings.read', { name: 'hum' })).rejects.toMatchObject({ code: 'not_found', message: 'No recording named "hum"' });
    expect(await service.handle('recordings.delete', { name: 'other' })).toEqual({ deleted: true });
    expect(await service.handle('recordings.delete', { name: 'other' })).toEqual({ deleted: false });
    expect((await service.handle('recordings.list', {})).recordings.map((r) => r.name)).toEqual(['hum (take 1)']);
  });

  it('names takes itself, refuses bad names, non-finite batches and a take in use, and discards on request', async () => {
    const a = await service.handle('recordings.start', { sampleRate: 16_000 });
    const b = await service.handle('recordings.start', { sampleRate: 16_000 });
    expect(a.name).toMatch(/^take \d{4}-\d\d-\d\d/);
    expect(b.name).not.toBe(a.name);
    await expect(service.handle('recordings.start', { name: '../escape', sampleRate: 16_000 })).rejects.toMatchObject({ code: 'bad_message', message: expect.stringMatching(/name/) });
    const bad = Float32Array.of(0.1, NaN);
    await expect(service.handle('recordings.append', { id: a.id, samples: bad })).rejects.toMatchObject({ code: 'bad_signal', message: expect.stringMatching(/sample 1 of the batch: it is NaN/) });
    await service.handle('recordings.append', { id: a.id, samples: tone(256, 16_000) });
    await expect(service.handle('recordings.delete', { name: a.name })).rejects.toMatchObject({ code: 'busy' });
    expect(await service.handle('recordings.finish', { id: b.id })).toEqual({ recording: null }); // empty: not kept
    expect((await service.handle('recordings.finish', { id: a.id, discard: true })).recording).toBeNull();
    expect(await fs.readdir(service.recordings.dir)).toEqual([]);
    await expect(service.handle('recordings.append', { id: a.id, samples: tone(8, 16_000) })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('recovers a take that a crash interrupted, losing at most what was not flushed', async () => {
    await fs.mkdir(service.recordings.dir, { recursive: true });
    const writer = await RecordingWriter.create(service.recordings.dir, { sampleRate: 8000, name: 'crashed', flushIntervalMs: 0 });
    const x = tone(4000, 8000);
    await writer.append(x);
    // The engine dies here: no finish(). The next engine's start-up repairs and lists it.
    const notes = await newService().recover();
    expect(notes).toContain('recovered recording crashed.wav (0.50 s)');
    const r = await service.handle('recordings.read', { name: 'crashed' });
    expect(r.samples).toEqual(x);
    await writer.discard(); // only closes the dead engine's handle: its .part.wav is gone (renamed)
    expect((await service.handle('recordings.list', {})).recordings.map((t) => t.name)).toEqual(['crashed']);
  });

  it('leaves alone a take another live engine is recording, and refuses to rename onto it', async () => {
    const { id, name } = await service.handle('recordings.start', { name: 'live take', sampleRate: 8000 });
    await service.handle('recordings.append', { id, samples: tone(800, 8000) });
    // A second engine on the same folder (the desktop app beside serve) starts up meanwhile.
    const other = newService();
    await fs.writeFile(path.join(service.recordings.dir, `.${name}.lock`), String(process.ppid)); // owned by a live process that is not this one
    expect(await other.recover()).not.toContain(expect.stringMatching(/live take/));
    expect(await fs.readdir(service.recordings.dir)).toContain('live take.part.wav');
    await record('other', tone(400, 8000), 8000);
    await expect(service.handle('recordings.rename', { name: 'other', to: 'live take' })).rejects.toMatchObject({ code: 'exists', message: 'A recording named "live take" is being recorded' });
    await service.handle('recordings.finish', { id });
    expect((await service.handle('recordings.read', { name: 'live take' })).samples).toHaveLength(800);
    expect((await fs.readdir(service.recordings.dir)).filter((f) => f.startsWith('.'))).toEqual([]); // the lock went with the take
  });

  it('imports a stereo WAV mixed to mono under the file name, and stores nothing for a corrupt or empty file', async () => {
    const wav = new WaveFile();
    wav.fromScratch(2, 8000, '16', Array.from({ length: 1600 }, (_, i) => (i % 2 ? 8192 : -8192) * ((i >> 1) % 2 ? 1 : 0.5)));
    const got = await service.handle('recordings.import', { fileName: '/home/u/My take #1.wav', bytes: new Uint8Array(wav.toBuffer()) });
    expect(got.recording).toMatchObject({ name: 'My take -1', sampleRate: 8000, samples: 800 });
    // A second import of the same name gets its own.
    expect((await service.handle('recordings.import', { fileName: 'My take #1.wav', bytes: new Uint8Array(wav.toBuffer()) })).recording.name).toBe('My take -1 (2)');
    const before = await fs.readdir(service.recordings.dir);
    await expect(service.handle('recordings.import', { fileName: 'broken.mp3', bytes: new Uint8Array([0xff, 0xfb, 0x90, 0x00, 1, 2, 3]) })).rejects.toMatchObject({ code: 'bad_file', message: expect.stringMatching(/^broken\.mp3 /) });
    await expect(service.handle('recordings.import', { fileName: 'empty.flac', bytes: new Uint8Array(0) })).rejects.toMatchObject({ code: 'bad_file', message: 'empty.flac is empty' });
    await expect(service.handle('recordings.import', { fileName: 'notes.txt', bytes: new TextEncoder().encode('hello, this is text') })).rejects.toMatchObject({
      code: 'bad_file',
      message: expect.stringMatching(/notes\.txt is not audio the lab can read/),
    });
    expect(await fs.readdir(service.recordings.dir)).toEqual(before);
  });

  it('turns file names into recording names', () => {
    expect(nameFromFile('C:/x/y/Bird song.mp3')).toBe('Bird song');
    expect(nameFromFile('...hidden.ogg')).toBe('hidden');
    expect(nameFromFile('a:b*c?.flac')).toBe('a-b-c-');
    expect(nameFromFile('.wav')).toBe('import');
  });
});

describe('training on a recording', () => {
  it('trains on its region, primes on the prime region, and outlives the recording; deleting the model keeps the recording', async () => {
    const rate = 8000;
    // 1 s of 220 Hz, then 1 s of 440 Hz: the training region is the second second only.
    const x = new Float32Array(2 * rate);
    x.set(tone(rate, rate, 220), 0);
    x.set(tone(rate, rate, 440, 0.3), rate);
    await record('two tones', x, rate);
    const region = { start: 1, end: 2 };
    const primeRegion = { start: 0.25, end: 0.5 };
    await service.handle('train.start', {
      name: 'm',
      source: { kind: 'recording', name: 'two tones', region, primeRegion },
      model: { family: 'regression', units: [8] },
      config: { epochs: 1, window: 20, batchSize: 32, maxTrainWindows: 64 },
      runId: 'r1',
    });
    expect((await waitDone('r1')).error).toBeNull();
    const spec = await readStoredSpec(path.join(root, 'models', 'm'));
    expect(spec.source).toMatchObject({ kind: 'wav', recording: 'two tones', region, primeRegion, sampleRate: rate });
    expect((await service.handle('models.list', {})).models[0].source).toBe('recording two tones 1.00-2.00 s');

    // The model's copy is independent of the library: rename and delete the recording.
    await service.handle('recordings.rename', { name: 'two tones', to: 'renamed' });
    await service.handle('recordings.delete', { name: 'renamed' });
    const g = await service.handle('generate.start', { name: 'm', length: 100 });
    // Primed on the stored prime region (in the 220 Hz part), compared with what follows it.
    const model = decodeWav(await fs.readFile(spec.source.kind === 'wav' ? spec.source.path : '')).samples;
    expect(model).toEqual(x);
    expect(g.sampleRate).toBe(rate); // the model's rate: 16 kHz at most, never above the file's
    expect(g.primeSamples).toEqual(x.slice(0.25 * rate, 0.5 * rate));
    expect(g.truth!.length).toBe(100);
    // A prime region given with the request wins; a region past the end is refused by name.
    const g2 = await service.handle('generate.start', { name: 'm', length: 10, prime: 160, primeRegion: { start: 1.5, end: 1.6 } });
    expect(g2.primeSamples.length).toBe(160);
    await expect(service.handle('generate.start', { name: 'm', length: 10, primeRegion: { start: 5, end: 6 } })).rejects.toMatchObject({ code: 'bad_argument', message: expect.stringMatching(/prime region 5\.000-6\.000 s holds 0 samples/) });

    await record('keep', tone(800, rate), rate);
    await service.handle('models.delete', { name: 'm' });
    expect((await service.handle('recordings.list', {})).recordings.map((r) => r.name)).toEqual(['keep']);
  });

  it('refuses a region past the recording and a recording that does not exist, leaving no copy behind', async () => {
    await record('short', tone(800, 8000), 8000);
    const cfg = { epochs: 1, window: 20, batchSize: 32, maxTrainWindows: 64 };
    await expect(service.handle('train.start', { name: 'x', source: { kind: 'recording', name: 'short', region: { start: 3, end: 4 } }, config: cfg })).rejects.toMatchObject({
      code: 'bad_argument',
      message: 'The training region starts at 3.00 s, after the end of "short" (0.10 s)',
    });
    await expect(service.handle('train.start', { name: 'x', source: { kind: 'recording', name: 'nope' }, config: cfg })).rejects.toMatchObject({ code: 'not_found', message: 'No recording named "nope"' });
    await expect(service.handle('train.start', { name: 'x', source: { kind: 'recording', name: 'short', region: { start: 0.05, end: 0.02 } }, config: cfg })).rejects.toMatchObject({
      code: 'bad_message',
      message: expect.stringMatching(/must end after it starts/),
    });
    expect(await fs.readdir(path.join(root, 'models')).catch(() => [])).toEqual([]);
  });
});
