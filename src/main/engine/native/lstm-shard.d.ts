// Types for lstm-shard.js (plain JavaScript so that worker threads load it without a TypeScript loader).
export interface ShardLayer {
  K: Float32Array;
  R: Float32Array;
  b: Float32Array;
  U: number;
}
export interface ShardGrads {
  dK: Float32Array;
  dR: Float32Array;
  db: Float32Array;
}
export interface LstmExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  lstm_forward(T: number, B: number, I: number, U: number, X: number, K: number, R: number, bias: number, H: number, C: number, A: number): void;
  lstm_backward(
    T: number, B: number, I: number, U: number, X: number, KT: number, RT: number, H: number, C: number, A: number,
    dH: number, dX: number, dK: number, dR: number, db: number, dZ: number, dc: number,
  ): void;
  lstm_generate(nLayers: number, desc: number, B: number, headK: number, headBias: number, steps: number, out: number, z: number, y: number): void;
  lstm_feed(nLayers: number, desc: number, B: number, xs: number, steps: number, z: number): void;
  gru_forward(T: number, B: number, I: number, U: number, X: number, K: number, R: number, bias: number, H: number, A: number): void;
  gru_backward(
    T: number, B: number, I: number, U: number, X: number, KT: number, RT: number, H: number, A: number,
    dH: number, dX: number, dK: number, dR: number, db: number, dZ: number, tmp: number,
  ): void;
}
export class LstmShard {
  constructor(module: WebAssembly.Module);
  readonly x: LstmExports;
  /** First free byte after the module's own data. */
  readonly base: number;
  /** Next free byte (bump allocator). */
  top: number;
  /** Allocates `floats` zeroed float32 values, 16-byte aligned; returns the byte offset. */
  alloc(floats: number): number;
  /** A view of `floats` values at `ptr`; invalid after the next alloc (memory may grow). */
  f32(ptr: number, floats: number): Float32Array;
  put(data: ArrayLike<number>): number;
  forward(T: number, B: number, layers: ShardLayer[], x: Float32Array, cell?: 'lstm' | 'gru'): Float32Array;
  backward(dy: Float32Array): ShardGrads[];
}
