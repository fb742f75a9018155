// The playback ring: order kept across the wrap, silence and a count on under-run, a refused tail and
// a count on over-run, and two views of one SharedArrayBuffer agreeing (as the UI and worklet do).
import { describe, expect, it } from 'vitest';
import { FloatRingBuffer, MAX_RING_CAPACITY } from '../../src/shared/audio/ring-buffer';

const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('FloatRingBuffer', () => {
  it('keeps samples in order across many wrap-arounds', () => {
    const ring = FloatRingBuffer.create(10);
    const out = new Float32Array(7);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      expect(ring.write(ramp(next, 7))).toBe(7);
      next += 7;
      expect(ring.read(out)).toBe(7);
      for (const v of out) expect(v).toBe(expected++);
    }
    expect(ring.counters()).toEqual({ underruns: 0, underrunSamples: 0, overruns: 0, overrunSamples: 0 });
  });

  it('fills the missing part of a read with zeros and counts the under-run', () => {
    const ring = FloatRingBuffer.create(8);
    ring.write(ramp(1, 3));
    const out = new Float32Array(5).fill(99);
    expect(ring.read(out)).toBe(3);
    expect(Array.from(out)).toEqual([1, 2, 3, 0, 0]);
    expect(ring.read(out, 1, 4)).toBe(0); // nothing at all: silence, only in the range asked
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 0]);
    expect(ring.counters()).toMatchObject({ underruns: 2, underrunSamples: 5 });
  });

  it('stores what fits of a write, refuses the rest and counts the over-run', () => {
    const ring = FloatRingBuffer.create(4);
    expect(ring.write(ramp(0, 3))).toBe(3);
    expect(ring.write(ramp(3, 3))).toBe(1);
    expect(ring.availableWrite()).toBe(0);
    expect(ring.write(ramp(9, 2))).toBe(0);
    expect(ring.counters()).toMatchObject({ overruns: 2, overrunSamples: 4, underruns: 0 });
    const out = new Float32Array(4);
    expect(ring.read(out)).toBe(4);
    expect(Array.from(out)).toEqual([0, 1, 2, 3]); // what was stored was not overwritten
  });

  it('holds exactly its capacity, also when the full stretch wraps', () => {
    const ring = FloatRingBuffer.create(5);
    const out = new Float32Array(5);
    ring.write(ramp(0, 3));
    ring.read(out, 0, 3);
    expect(ring.write(ramp(10, 5))).toBe(5);
    expect(ring.availableRead()).toBe(5);
    expect(ring.read(out)).toBe(5);
    expect(Array.from(out)).toEqual([10, 11, 12, 13, 14]);
  });

  it('shares one SharedArrayBuffer between a producer view and a consumer view', () => {
    const producer = FloatRingBuffer.create(16, true);
    expect(producer.buffer).toBeInstanceOf(SharedArrayBuffer);
    const consumer = new FloatRingBuffer(producer.buffer);
    expect(consumer.capacity).toBe(16);
    producer.write(ramp(0.5, 4));
    const out = new Float32Array(6);
    expect(consumer.read(out)).toBe(4);
    expect(Array.from(out)).toEqual([0.5, 1.5, 2.5, 3.5, 0, 0]);
    expect(producer.counters().underruns).toBe(1); // both sides see the counts
    expect(producer.availableWrite()).toBe(16);
  });

  it('works over plain memory where there is no SharedArrayBuffer, and clear() drops the backlog', () => {
    const ring = FloatRingBuffer.create(4, false);
    expect(ring.buffer).toBeInstanceOf(ArrayBuffer);
    ring.write(ramp(0, 4));
    ring.clear();
    expect(ring.availableRead()).toBe(0);
    expect(ring.write(ramp(0, 4))).toBe(4);
  });

  it('refuses bad sizes and ranges, naming the value', () => {
    expect(() => FloatRingBuffer.create(0)).toThrow(/capacity.*got 0/);
    expect(() => FloatRingBuffer.create(MAX_RING_CAPACITY + 1)).toThrow(/capacity/);
    expect(() => new FloatRingBuffer(new ArrayBuffer(33))).toThrow(/got 33/);
    const ring = FloatRingBuffer.create(4);
    expect(() => ring.write(new Float32Array(2), 1, 3)).toThrow(/end 3/);
    expect(() => ring.read(new Float32Array(2), 2, 1)).toThrow(/start 2/);
  });
});
