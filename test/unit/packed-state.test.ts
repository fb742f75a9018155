import { describe, expect, it } from 'vitest';
import { packState, unpackState, zeroState, packedStateLength } from '../../src/shared/packed-state';

function randomState(cell: 'lstm' | 'gru', batch: number, units: number[]) {
  const s = zeroState(cell, batch, units);
  let k = 1;
  for (const a of [...s.c, ...s.h]) for (let i = 0; i < a.length; i++) a[i] = Math.sin(k++ * 12.9898) * 0.9;
  return s;
}

describe('packed state', () => {
  it.each([
    ['lstm', 1, [16, 16, 16]],
    ['lstm', 5, [3, 7]],
    ['gru', 4, [8, 2, 5]],
  ] as const)('pack and unpack are exact inverses (%s, batch %i, units %j)', (cell, batch, units) => {
    const s = randomState(cell, batch, [...units]);
    const p = packState(s);
    expect(p.length).toBe(packedStateLength(cell, batch, [...units]));
    const back = unpackState(p);
    expect(back).toEqual(s);
    // The notebook's check: the difference after a round trip is exactly 0.
    const again = packState(back);
    expect(again.every((v, i) => v === p[i])).toBe(true);
  });

  it('refuses a packed state that is not one, naming what is wrong', () => {
    const p = packState(randomState('lstm', 2, [4]));
    expect(() => unpackState(new Float32Array(3))).toThrow(/at least 6 values/);
    const badMagic = p.slice();
    badMagic[0] = 1;
    expect(() => unpackState(badMagic)).toThrow(/bad magic/);
    const badVersion = p.slice();
    badVersion[1] = 99;
    expect(() => unpackState(badVersion)).toThrow(/version 99/);
    expect(() => unpackState(p.slice(0, p.length - 1))).toThrow(/expected \d+ for lstm 4 with batch 2/);
    const nan = p.slice();
    nan[nan.length - 1] = NaN;
    expect(() => unpackState(nan)).toThrow(/non-finite/);
  });
});
