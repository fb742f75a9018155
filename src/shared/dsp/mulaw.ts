// μ-law companding (ITU-T G.711's curve, continuous form) to `levels` integer levels, and the
// pre-emphasis / de-emphasis filters sample-level audio models use (LPCNet): pure functions shared
// by the engine, the UI and tests. Matches ../shared/reference/torch_mulaw_rnn.py's enc/dec.

/** Levels of the default 8-bit μ-law: 256, μ = 255. */
export const MULAW_LEVELS = 256;

/** The level of one sample in [-1, 1] (values outside are clipped): round((F(x) + 1)/2 · μ), F(x) = sign(x)·ln(1 + μ|x|)/ln(1 + μ). */
export function muLawEncode(x: number, levels = MULAW_LEVELS): number {
  const mu = levels - 1;
  const v = Math.max(-1, Math.min(1, x));
  const f = (Math.sign(v) * Math.log1p(mu * Math.abs(v))) / Math.log1p(mu);
  return Math.max(0, Math.min(mu, Math.round(((f + 1) / 2) * mu)));
}

/** The sample value of a level: the inverse of muLawEncode's curve at the level's centre. */
export function muLawDecode(q: number, levels = MULAW_LEVELS): number {
  const mu = levels - 1;
  const y = (2 * q) / mu - 1;
  return (Math.sign(y) * ((1 + mu) ** Math.abs(y) - 1)) / mu;
}

/** Every level's decoded value, `[levels]` (a lookup table for generation). */
export function muLawTable(levels = MULAW_LEVELS): Float32Array {
  const t = new Float32Array(levels);
  for (let q = 0; q < levels; q++) t[q] = muLawDecode(q, levels);
  return t;
}

/** Encodes a whole signal to levels. */
export function muLawEncodeAll(x: Float32Array, levels = MULAW_LEVELS): Uint8Array | Uint16Array {
  const out = levels <= 256 ? new Uint8Array(x.length) : new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = muLawEncode(x[i], levels);
  return out;
}

/**
 * The decision boundaries of each level in the sample domain: level q holds [edges[q], edges[q+1]),
 * edges[0] = -Infinity and edges[levels] = +Infinity (midpoints of the level's curve values).
 */
export function muLawEdges(levels = MULAW_LEVELS): Float64Array {
  const mu = levels - 1;
  const e = new Float64Array(levels + 1);
  e[0] = -Infinity;
  e[levels] = Infinity;
  for (let q = 1; q < levels; q++) {
    const y = (2 * (q - 0.5)) / mu - 1; // the companded value halfway between levels q-1 and q
    e[q] = (Math.sign(y) * ((1 + mu) ** Math.abs(y) - 1)) / mu;
  }
  return e;
}

/** y[n] = x[n] - a·x[n-1], with x[-1] = `prev`; returns a new array. */
export function preEmphasis(x: Float32Array, a: number, prev = 0): Float32Array {
  const y = new Float32Array(x.length);
  let p = prev;
  for (let i = 0; i < x.length; i++) {
    y[i] = x[i] - a * p;
    p = x[i];
  }
  return y;
}

/** The inverse filter, in place: y[n] = x[n] + a·y[n-1] with y[-1] = `prev`; returns the last y (the filter's state). */
export function deEmphasisInPlace(x: Float32Array, a: number, prev = 0): number {
  let p = prev;
  for (let i = 0; i < x.length; i++) {
    p = x[i] + a * p;
    x[i] = p;
  }
  return p;
}
