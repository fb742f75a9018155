// Playing while generating, offline and exact: the worklet's renderer (pre-roll, fades, under-runs
// counted only before the end, stop), the pre-roll rule for producers slower than real time, and the
// generation length field (seconds, ms or samples at the model's rate).
import { describe, expect, it } from 'vitest';
import { FloatRingBuffer } from '../../src/shared/audio/ring-buffer';
import { ENDED, STARTED, STOPPED, StreamRenderer } from '../../src/renderer/audio/playback-worklet';
import { samplesToBuffer } from '../../src/renderer/audio/stream-player';
import { checkLength, defaultSeconds } from '../../src/renderer/features/generation/generation-length';
import { describePlayback } from '../../src/renderer/features/generation/GenerationPanel';
import { MAX_GENERATE_LENGTH } from '../../src/shared/contract';

const QUANTUM = 128;
const ones = (n: number) => new Float32Array(n).fill(1);

/** Renders quanta until `until` says stop (or `max` quanta); returns the output and the events per quantum. */
function renderQuanta(r: StreamRenderer, quanta: number, each?: (q: number) => void) {
  const out = new Float32Array(quanta * QUANTUM);
  const events: number[] = [];
  for (let q = 0; q < quanta; q++) {
    each?.(q);
    const block = new Float32Array(QUANTUM);
    events.push(r.render(block));
    out.set(block, q * QUANTUM);
  }
  return { out, events };
}

describe('StreamRenderer (the playback worklet, rendered offline)', () => {
  const fade = 8;

  it('is silent until started, fades in and out, plays every sample once and reports started then ended', () => {
    const ring = FloatRingBuffer.create(4096, false);
    const r = new StreamRenderer(ring, { rebufferSamples: 256, fadeSamples: fade });
    ring.write(ones(1000));
    const before = renderQuanta(r, 3);
    expect(before.out.every((v) => v === 0)).toBe(true);
    expect(before.events).toEqual([0, 0, 0]);
    r.start();
    r.end(1000);
    const { out, events } = renderQuanta(r, 10);
    expect(events[0]).toBe(STARTED);
    expect(events.indexOf(ENDED)).toBe(7); // 1000 samples end in the 8th quantum
    expect(events.filter((e) => e !== 0)).toEqual([STARTED, ENDED]);
    expect(r.played).toBe(1000);
    expect(r.underruns).toBe(0);
    // A ramp in, unity in the middle, a ramp out, then silence (not an under-run).
    expect(Array.from(out.subarray(0, fade))).toEqual(Array.from({ length: fade }, (_, i) => Math.fround((i + 1) / (fade + 1))));
    expect(out.subarray(fade, 1000 - fade).every((v) => v === 1)).toBe(true);
    expect(out[999]).toBeCloseTo(1 / (fade + 1), 6);
    expect(out.subarray(1000).every((v) => v === 0)).toBe(true);
    // No step anywhere: the largest jump is one fade step.
    let jump = 0;
    for (let i = 1; i < out.length; i++) jump = Math.max(jump, Math.abs(out[i] - out[i - 1]));
    expect(jump).toBeLessThanOrEqual(1 / (fade + 1) + 1e-6);
  });

  it('counts an under-run when the ring runs dry before the end, fades the cut, and waits to refill', () => {
    const ring = FloatRingBuffer.create(4096, false);
    const r = new StreamRenderer(ring, { rebufferSamples: 256, fadeSamples: fade });
    ring.write(ones(300));
    r.start();
    const first = renderQuanta(r, 4);
    expect(r.underruns).toBe(1); // 300 samples: two whole quanta, then 44 and nothing
    expect(r.played).toBe(300);
    expect(first.out[299]).toBeLessThan(0.2); // faded, not cut
    expect(first.out.subarray(300).every((v) => v === 0)).toBe(true);
    // Refilled past rebufferSamples: it plays again, faded in; the end is no under-run.
    ring.write(ones(300));
    r.end(600);
    const second = renderQuanta(r, 4);
    expect(second.out[0]).toBeCloseTo(1 / (fade + 1), 6);
    expect(second.events).toContain(ENDED);
    expect(r.played).toBe(600);
    expect(r.underruns).toBe(1);
  });

  it('stops with a fade and reports stopped; a stop before any sound reports at once', () => {
    const ring = FloatRingBuffer.create(4096, false);
    const r = new StreamRenderer(ring, { rebufferSamples: 256, fadeSamples: fade });
    ring.write(ones(2000));
    r.start();
    renderQuanta(r, 2);
    r.stop();
    const { out, events } = renderQuanta(r, 2);
    expect(events[0]).toBe(STOPPED);
    expect(out[0]).toBeCloseTo(fade / (fade + 1), 6);
    expect(out.subarray(fade).every((v) => v === 0)).toBe(true);

    const idle = new StreamRenderer(FloatRingBuffer.create(256, false), { rebufferSamples: 64, fadeSamples: fade });
    idle.stop();
    expect(renderQuanta(idle, 2).events).toEqual([STOPPED, 0]);
  });

  it('ends an empty stream without sound and a stream shorter than a quantum in one', () => {
    const ring = FloatRingBuffer.create(256, false);
    const r = new StreamRenderer(ring, { rebufferSamples: 64, fadeSamples: 4 });
    ring.write(ones(50));
    r.end(50);
    r.start();
    expect(renderQuanta(r, 1).events).toEqual([STARTED | ENDED]);
    const empty = new StreamRenderer(FloatRingBuffer.create(256, false), { rebufferSamples: 64, fadeSamples: 4 });
    empty.end(0);
    empty.start();
    expect(renderQuanta(empty, 1).events).toEqual([ENDED]);
    expect(empty.underruns).toBe(0);
  });
});

describe('samplesToBuffer (the pre-roll)', () => {
  const base = { sampleRate: 16000, preroll: 2400, longestChunk: 1024 };

  it('is the pre-roll (or two of the longest chunks, or 1.5 x the longest wait for one) for a producer faster than real time', () => {
    expect(samplesToBuffer({ ...base, expected: 32000, pushed: 4096, rate: 100_000 })).toBe(2400);
    expect(samplesToBuffer({ ...base, longestChunk: 4096, expected: 32000, pushed: 4096, rate: 100_000 })).toBe(8192);
    expect(samplesToBuffer({ ...base, longestGap: 0.25, expected: 32000, pushed: 4096, rate: 100_000 })).toBe(6000);
    expect(samplesToBuffer({ ...base, expected: null, pushed: 100, rate: null })).toBe(2400);
  });

  it('waits for a rate, and covers the shortfall of a slower producer so that the buffer never runs dry', () => {
    expect(samplesToBuffer({ ...base, expected: 32000, pushed: 1024, rate: null })).toBe(Infinity);
    // Half real time with 24,000 to come: 1.5 x 24,000 more than the pre-roll, capped at the whole stream.
    expect(samplesToBuffer({ ...base, expected: 32000, pushed: 8000, rate: 8000 })).toBe(32000);
    const need = samplesToBuffer({ ...base, expected: 320_000, pushed: 160_000, rate: 12_000 });
    expect(need).toBeCloseTo(2400 + 1.5 * ((4000 * 160_000) / 12_000), 6);
  });

  it('starts a producer at 0.6 x real time before its end, and the buffer then never runs dry', () => {
    // 10 s at 16 kHz made at 9,600 samples/s in chunks of 1,024; ticks of 1 ms; played at 16 kHz once started.
    const sampleRate = 16000;
    const expected = 160_000;
    const rate = 9600;
    let pushed = 0;
    let played = 0;
    let startedAt: number | null = null;
    let lowest = Infinity;
    for (let t = 1; played < expected; t++) {
      const made = Math.min(expected, Math.floor((rate * t) / 1000 / 1024) * 1024 || 0);
      const atEnd = Math.min(expected, (rate * t) / 1000) >= expected;
      pushed = atEnd ? expected : made;
      if (startedAt === null && pushed >= samplesToBuffer({ ...base, sampleRate, expected, pushed, rate: pushed > 0 ? pushed / (t / 1000) : null })) startedAt = t;
      if (startedAt !== null) {
        played = Math.min(expected, played + sampleRate / 1000);
        if (played < expected) lowest = Math.min(lowest, pushed - played);
      }
    }
    expect(startedAt).not.toBeNull();
    expect(startedAt!).toBeLessThan((expected / rate) * 1000); // before generation ends (16.7 s)
    expect(lowest).toBeGreaterThan(0);
  });

  it('is 0 once the stream is whole', () => {
    expect(samplesToBuffer({ ...base, expected: 32000, pushed: 32000, rate: 10 })).toBe(0);
  });
});

describe('checkLength (the generation length field)', () => {
  it('reads seconds, milliseconds and samples at the model rate', () => {
    expect(checkLength('2', 44100)).toEqual({ samples: 88200, seconds: 2, error: null });
    expect(checkLength(' 0.5 s ', 16000)).toEqual({ samples: 8000, seconds: 0.5, error: null });
    expect(checkLength('250 ms', 16000).samples).toBe(4000);
    expect(checkLength('1000 samples', 44100)).toEqual({ samples: 1000, seconds: 1000 / 44100, error: null });
    expect(checkLength('1e-1', 1000).samples).toBe(100);
  });

  it('uses the model default when blank: 2 s for audio, 1 s for a preset', () => {
    expect(defaultSeconds('vowel.wav')).toBe(2);
    expect(defaultSeconds('preset sine')).toBe(1);
    expect(checkLength('', 16000, defaultSeconds('vowel.wav')).samples).toBe(32000);
    expect(checkLength('  ', 44100, defaultSeconds('preset sine')).samples).toBe(44100);
  });

  it('names what is wrong', () => {
    expect(checkLength('abc', 16000).error).toMatch(/"abc" is not a length: write seconds \(2\), milliseconds \(250 ms\) or samples/);
    expect(checkLength('2 min', 16000).error).toMatch(/is not a length/);
    expect(checkLength('0', 16000).error).toBe('must be more than 0');
    expect(checkLength('-1', 16000).error).toBe('must be more than 0');
    expect(checkLength('0.00001', 16000).error).toBe('is less than one sample at 16,000 Hz');
    expect(checkLength('1.5 samples', 16000).error).toBe('a number of samples must be a whole number');
    expect(checkLength('1000', 16000).error).toBe(`must be at most 625 s (${MAX_GENERATE_LENGTH.toLocaleString('en-US')} samples at 16,000 Hz)`);
    expect(checkLength('2', NaN).error).toMatch(/sample rate/);
  });
});

describe('describePlayback', () => {
  it('says how it went in words', () => {
    expect(describePlayback({ state: 'ended', seconds: 2, underruns: 0 })).toBe('played 2.00 s, no gaps');
    expect(describePlayback({ state: 'ended', seconds: 2, underruns: 3 })).toBe('played 2.00 s, 3 gaps: generation ran slower than real time');
    expect(describePlayback({ state: 'stopped', seconds: 0.5, underruns: 0 })).toBe('stopped after 0.50 s');
    expect(describePlayback({ state: 'failed', seconds: 0, underruns: 0, message: 'no Web Audio' })).toBe('cannot play while generating: no Web Audio');
  });
});
