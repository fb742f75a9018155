// The sampling families' per-stream seeds: one user seed gives each generated stream its own RNG
// (mulberry32's 32-bit state in lstm.wasm), and the state then travels in the packed state.

/** A 32-bit RNG seed for stream b: distinct streams draw independent sequences. */
export function streamSeed(seed: number, b: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(b + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
