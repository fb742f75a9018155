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
export interface HeadGrads {
  dW: Float32Array;
  db: Float32Array;
  grads: ShardGrads[];
  /** Gradient w.r.t. the input x, time-major [T, B, inputs]. */
  dX: Float32Array;
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
  softmax_xent(M: number, U: number, V: number, H: number, hs: number, tgt: number, W: number, bias: number, P: number): number;
  softmax_xent_backward(M: number, U: number, V: number, H: number, hs: number, P: number, WT: number, scale: number, dH: number, dhs: number, dW: number, db: number): void;
  stack_feed(nLayers: number, desc: number, gru: number, B: number, I: number, xs: number, steps: number, z: number): void;
  cat_generate(
    nLayers: number, desc: number, gru: number, B: number, I: number, W: number, bias: number, V: number, invTemp: number, cut: number,
    inScale: number, inOffset: number, steps: number, rng: number, x: number, out: number, z: number, l: number,
  ): void;
  cat_follow(
    nLayers: number, desc: number, gru: number, B: number, I: number, W: number, bias: number, V: number, invTemp: number, cut: number,
    truth: number, steps: number, rng: number, x: number, out: number, z: number, l: number,
  ): void;
  spec_pack(nLayers: number, desc: number, gru: number, F: number, Fp: number, E: number, K: number, Ek: number, Wmu: number, Ws: number): number;
  spec_frame(
    nLayers: number, desc: number, gru: number, B: number, F: number, Fp: number, E: number, K: number, X: number, z: number,
    Ek: number, Eb: number, Wmu: number, bmu: number, Ws: number, bs: number, Wl: number, bl: number,
    temp: number, lsMin: number, lo: number, hi: number, gain: number, offset: number, magScale: number, rng: number, M: number, scratch: number,
  ): void;
  spec_draw(
    nLayers: number, desc: number, gru: number, B: number, F: number, Fp: number, E: number, K: number,
    Wmu: number, bmu: number, Ws: number, bs: number, Wl: number, bl: number,
    temp: number, lsMin: number, lo: number, hi: number, gain: number, offset: number, magScale: number, rng: number, X: number, M: number, scratch: number,
  ): void;
  mix_nll(N: number, F: number, K: number, out: number, y: number, lsMin: number, scale: number, grad: number, tmp: number): number;
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
  forward(T: number, B: number, layers: ShardLayer[], x: Float32Array, cell?: 'lstm' | 'gru', inputs?: number): Float32Array;
  backward(dy: Float32Array): ShardGrads[];
  /** After forward: the top layer's h at every step, time-major [T, B, U_top]. */
  sequence(): Float32Array;
  /** Backward from the gradient w.r.t. every step's top h, time-major [T, B, U_top]; dX: the input's gradient [T, B, inputs]. */
  backwardSequence(dy: Float32Array): { grads: ShardGrads[]; dX: Float32Array };
  headLoss(targets: Int32Array, burn: number, W: Float32Array, bias: Float32Array): number;
  rowLosses(targets: Int32Array): Float32Array;
  backwardHead(scale: number): HeadGrads;
}
