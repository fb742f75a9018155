// Packed recurrent state: (c, h) of every layer for a batch of streams in one Float32Array,
// behind a small versioned header, so that generation can stop and continue exactly.
//
// Layout (all float32):
//   [0] MAGIC  [1] VERSION  [2] cell (0 = lstm, 1 = gru)  [3] batch  [4] layers  [5 .. 5+layers) units
//   then for each stream b, for each layer l: c[b, l] (lstm only, units[l] values), h[b, l] (units[l] values)
import { LabError } from './errors';

export const PACKED_STATE_MAGIC = 0x5153; // 'SQ'; exact in float32
export const PACKED_STATE_VERSION = 1;

export type CellType = 'lstm' | 'gru';

export interface RecurrentState {
  cell: CellType;
  batch: number;
  units: number[];
  /** Per layer, [batch, units[l]] row-major; empty arrays for GRU. */
  c: Float32Array[];
  /** Per layer, [batch, units[l]] row-major. */
  h: Float32Array[];
}

const CELL_CODES: Record<CellType, number> = { lstm: 0, gru: 1 };

export function zeroState(cell: CellType, batch: number, units: number[]): RecurrentState {
  return {
    cell,
    batch,
    units: [...units],
    c: units.map((u) => new Float32Array(cell === 'lstm' ? batch * u : 0)),
    h: units.map((u) => new Float32Array(batch * u)),
  };
}

export function packedStateLength(cell: CellType, batch: number, units: number[]): number {
  const per = units.reduce((s, u) => s + (cell === 'lstm' ? 2 : 1) * u, 0);
  return 5 + units.length + batch * per;
}

export function packState(s: RecurrentState): Float32Array {
  const out = new Float32Array(packedStateLength(s.cell, s.batch, s.units));
  out[0] = PACKED_STATE_MAGIC;
  out[1] = PACKED_STATE_VERSION;
  out[2] = CELL_CODES[s.cell];
  out[3] = s.batch;
  out[4] = s.units.length;
  s.units.forEach((u, l) => (out[5 + l] = u));
  let o = 5 + s.units.length;
  for (let b = 0; b < s.batch; b++) {
    for (let l = 0; l < s.units.length; l++) {
      const u = s.units[l];
      if (s.cell === 'lstm') {
        out.set(s.c[l].subarray(b * u, (b + 1) * u), o);
        o += u;
      }
      out.set(s.h[l].subarray(b * u, (b + 1) * u), o);
      o += u;
    }
  }
  return out;
}

/** Inverse of packState; throws `bad_argument` naming what does not fit. */
export function unpackState(p: Float32Array): RecurrentState {
  if (!(p instanceof Float32Array) || p.length < 6) throw new LabError('bad_argument', `Packed state must be a Float32Array of at least 6 values, got ${describe(p)}`);
  if (p[0] !== PACKED_STATE_MAGIC) throw new LabError('bad_argument', 'Packed state has no Sequence Lab header (bad magic number)');
  if (p[1] !== PACKED_STATE_VERSION) throw new LabError('bad_argument', `Packed state version ${p[1]} is not supported (expected ${PACKED_STATE_VERSION})`);
  const cell = p[2] === 0 ? 'lstm' : p[2] === 1 ? 'gru' : null;
  if (!cell) throw new LabError('bad_argument', `Packed state has unknown cell code ${p[2]}`);
  const batch = p[3];
  const layers = p[4];
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(layers) || layers < 1 || 5 + layers > p.length) {
    throw new LabError('bad_argument', `Packed state header is corrupt (batch ${batch}, layers ${layers})`);
  }
  const units = Array.from(p.subarray(5, 5 + layers));
  if (units.some((u) => !Number.isInteger(u) || u < 1)) throw new LabError('bad_argument', `Packed state header has invalid units ${units.join(',')}`);
  const expected = packedStateLength(cell, batch, units);
  if (p.length !== expected) throw new LabError('bad_argument', `Packed state has ${p.length} values, expected ${expected} for ${cell} ${units.join('x')} with batch ${batch}`);
  const s = zeroState(cell, batch, units);
  let o = 5 + layers;
  for (let b = 0; b < batch; b++) {
    for (let l = 0; l < layers; l++) {
      const u = units[l];
      if (cell === 'lstm') {
        s.c[l].set(p.subarray(o, o + u), b * u);
        o += u;
      }
      s.h[l].set(p.subarray(o, o + u), b * u);
      o += u;
    }
  }
  for (let i = 5 + layers; i < p.length; i++) {
    if (!Number.isFinite(p[i])) throw new LabError('bad_argument', `Packed state holds a non-finite value at index ${i}`);
  }
  return s;
}

function describe(v: unknown): string {
  if (v instanceof Float32Array) return `${v.length} values`;
  return v === null ? 'null' : typeof v;
}
