// The page's side of a take and of regions: blocks reach the engine in order and a failure stops the
// take (what was stored is kept); the level meter reads dBFS; the growing waveform's peaks equal
// those of the whole take; regions typed as text are checked with messages in words.
import { describe, expect, it } from 'vitest';
import { blockLevel, GrowingPeaks, LEVEL_FLOOR_DB, TakeUpload } from '../../src/renderer/features/recordings/take';
import { checkRegionText, formatRegion } from '../../src/shared/region-text';
import { microphoneError } from '../../src/renderer/audio/capture';

function fakeClient(failAt = Infinity) {
  const appended: number[][] = [];
  let finished: { discard: boolean } | null = null;
  const call = async (command: string, args: Record<string, unknown>): Promise<unknown> => {
    await new Promise((r) => setTimeout(r, Math.random() * 3)); // replies in any timing
    if (command === 'recordings.start') return { id: 'rec-1', name: 'take 1' };
    if (command === 'recordings.append') {
      if (appended.length >= failAt) throw new Error('The engine stopped');
      appended.push(Array.from(args.samples as Float32Array));
      return { samples: appended.flat().length, seconds: 0 };
    }
    if (command === 'recordings.finish') {
      finished = { discard: args.discard as boolean };
      return { recording: args.discard ? null : { name: 'take 1', samples: appended.flat().length } };
    }
    throw new Error(`unexpected ${command}`);
  };
  return { client: { call } as unknown as ConstructorParameters<typeof TakeUpload>[0], appended, finished: () => finished };
}

describe('a take on its way to the library', () => {
  it('appends every block in capture order, copied (the capture may reuse its buffer), then finishes', async () => {
    const f = fakeClient();
    const take = new TakeUpload(f.client);
    expect(await take.start(48_000)).toBe('take 1');
    const buffer = new Float32Array(3);
    for (let b = 0; b < 20; b++) {
      buffer.fill(b);
      take.push(buffer);
    }
    const r = await take.finish();
    expect(f.appended).toEqual(Array.from({ length: 20 }, (_, b) => [b, b, b]));
    expect(r).toMatchObject({ samples: 60 });
    expect(take.stored).toBe(60);
  });

  it('stops at the first failed append, says so once, and keeps what was stored', async () => {
    const f = fakeClient(3);
    const take = new TakeUpload(f.client);
    await take.start(16_000);
    const failures: string[] = [];
    for (let b = 0; b < 6; b++) take.push(Float32Array.of(b), (e) => failures.push(e.message));
    await take.finish();
    expect(f.appended).toEqual([[0], [1], [2]]);
    expect(failures).toEqual(['The engine stopped']);
    expect(take.stored).toBe(3);
    expect(f.finished()).toEqual({ discard: false });
  });
});

describe('the level meter and the growing waveform', () => {
  it('reads a full-scale sine at -3 dBFS RMS and 0 dBFS peak, silence at the floor', () => {
    const sine = Float32Array.from({ length: 4800 }, (_, i) => Math.sin((2 * Math.PI * 100 * i) / 48_000));
    const l = blockLevel(sine);
    expect(l.rmsDb).toBeCloseTo(-3.01, 1);
    expect(l.peakDb).toBeCloseTo(0, 2);
    expect(blockLevel(new Float32Array(128))).toEqual({ rmsDb: LEVEL_FLOOR_DB, peakDb: LEVEL_FLOOR_DB });
  });

  it('grows block by block to the peaks of the whole take, whatever the block sizes', () => {
    const x = Float32Array.from({ length: 300_001 }, (_, i) => Math.sin(i * 0.001) * Math.cos(i * 0.37));
    const g = new GrowingPeaks(256);
    for (let i = 0, n = 1; i < x.length; i += n, n = (n * 7 + 3) % 5000) g.push(x.subarray(i, i + n));
    expect(g.length).toBe(x.length);
    const { max, min } = g.peaks;
    expect(max.length).toBe(Math.ceil(x.length / 256));
    for (const b of [0, 17, 600, max.length - 1]) {
      const span = x.subarray(b * 256, (b + 1) * 256);
      expect(max[b]).toBe(Math.max(...span));
      expect(min[b]).toBe(Math.min(...span));
    }
  });
});

describe('regions typed as text', () => {
  it('reads start-end in seconds within the recording, and says what is wrong otherwise', () => {
    expect(checkRegionText('1.5-3', 10)).toEqual({ value: { start: 1.5, end: 3 }, error: null });
    expect(checkRegionText(' 0 to 2.25 ', 10)).toEqual({ value: { start: 0, end: 2.25 }, error: null });
    expect(checkRegionText('', 10)).toEqual({ value: null, error: null });
    expect(checkRegionText('8-12', 10)).toEqual({ value: { start: 8, end: 10 }, error: null }); // the end is clamped
    expect(checkRegionText('3-2', 10).error).toBe('must end after it starts');
    expect(checkRegionText('11-12', 10).error).toBe('starts after the recording ends (10 s)');
    expect(checkRegionText('abc', 10).error).toBe('write it as start-end in seconds, like 1.5-3');
    expect(formatRegion({ start: 0.1234, end: 2 })).toBe('0.123-2');
    expect(formatRegion(undefined)).toBe('');
  });
});

describe('why the microphone cannot be used', () => {
  it('names denial, a missing device and a busy one in words a user can act on', () => {
    const dom = (name: string) => Object.assign(new Error('x'), { name });
    expect(microphoneError(dom('NotAllowedError')).message).toMatch(/^Microphone access was denied \(x\): allow the microphone/);
    expect(microphoneError(dom('NotFoundError')).message).toMatch(/^No microphone was found/);
    expect(microphoneError(dom('NotReadableError')).message).toMatch(/another application may be using it/);
    expect(microphoneError('odd').message).toBe('Microphone unavailable: odd');
  });
});
