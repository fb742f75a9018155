// The fused LSTM stack as a tfjs op with a custom gradient: the whole sequence forward and
// backpropagation through time run in lstm.wasm (WebAssembly SIMD), so tfjs's optimizers, saving
// and loading stay as they are while a training step costs a fraction of tfjs-layers' op loop.
// Used on the cpu and wasm backends for LSTM stacks whose layer sizes are multiples of 4 and
// without dropout; anything else trains through tfjs-layers.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../shared/contract';
import type { RecurrentState } from '../../shared/packed-state';
import type { RecurrentWeights } from './recurrent-step';

const WASM_URL = new URL('./native/lstm.wasm', import.meta.url);

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  lstm_forward(T: number, B: number, I: number, U: number, X: number, K: number, R: number, bias: number, H: number, C: number, A: number): void;
  lstm_backward(
    T: number, B: number, I: number, U: number, X: number, KT: number, RT: number, H: number, C: number, A: number,
    dH: number, dX: number, dK: number, dR: number, db: number, dZ: number, dc: number,
  ): void;
  lstm_generate(nLayers: number, desc: number, B: number, headK: number, headBias: number, steps: number, out: number, z: number, y: number): void;
  lstm_feed(nLayers: number, desc: number, B: number, xs: number, steps: number, z: number): void;
}

let compiled: WebAssembly.Module | null = null;

/** One instance of lstm.wasm with a bump allocator over its memory. */
export class LstmKernel {
  readonly x: Exports;
  private readonly base: number;
  private top: number;

  constructor() {
    compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
    this.x = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
    this.base = align(this.x.__heap_base.value as number);
    this.top = this.base;
  }

  /** Frees everything allocated since construction. */
  reset(): void {
    this.top = this.base;
  }

  /** Frees everything allocated after `mark` (a value alloc returned). */
  rewind(mark: number): void {
    this.top = mark;
  }

  /** Allocates `floats` float32 values (16-byte aligned, zeroed) and returns the byte offset. */
  alloc(floats: number): number {
    const ptr = this.top;
    this.top = align(ptr + 4 * floats);
    const need = this.top - this.x.memory.buffer.byteLength;
    if (need > 0) this.x.memory.grow(Math.ceil(need / 65536));
    new Float32Array(this.x.memory.buffer, ptr, floats).fill(0);
    return ptr;
  }

  /** A view of `floats` values at `ptr`; invalid after the next alloc (memory may grow). */
  f32(ptr: number, floats: number): Float32Array {
    return new Float32Array(this.x.memory.buffer, ptr, floats);
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.x.memory.buffer, ptr, n);
  }

  put(data: ArrayLike<number>): number {
    const ptr = this.alloc(data.length);
    this.f32(ptr, data.length).set(data);
    return ptr;
  }
}

function align(n: number): number {
  return (n + 15) & ~15;
}

let shared: LstmKernel | null = null;
/** The process-wide kernel instance (tfjs runs one op at a time). */
export function lstmKernel(): LstmKernel {
  shared ??= new LstmKernel();
  return shared;
}

/** True when a model spec can train through the fused op on the current backend. */
export function canUseFusedLstm(spec: ModelSpec, backend: string): boolean {
  return (backend === 'cpu' || backend === 'wasm') && spec.type === 'lstm' && spec.dropout === 0 && spec.units.every((u) => u % 4 === 0);
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

interface LayerPlan {
  I: number;
  U: number;
  K: number;
  R: number;
  b: number;
  X: number;
  H: number;
  C: number;
  A: number;
}

let forwardCount = 0;

/**
 * The recurrent stack, forward: x `[batch, time, 1]` and per layer (kernel `[in, 4u]`, recurrent
 * `[u, 4u]`, bias `[4u]`) -> the last step's h of the top layer, `[batch, u_top]`.
 * Differentiable with respect to every weight (the input's gradient is zero: it is data).
 */
export function fusedLstmStack(x: tf.Tensor3D, weights: tf.Tensor[]): tf.Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const [xt, ...ws] = inputs;
    const [B, T] = xt.shape;
    const L = ws.length / 3;
    const k = lstmKernel();
    k.reset();
    const id = ++forwardCount;
    const xs = xt.dataSync() as Float32Array;
    // [B, T, 1] -> time-major [T, B, 1]
    const X0 = k.alloc(T * B);
    {
      const v = k.f32(X0, T * B);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) v[t * B + b] = xs[b * T + t];
    }
    const plan: LayerPlan[] = [];
    let X = X0;
    let I = 1;
    for (let l = 0; l < L; l++) {
      const U = ws[3 * l + 1].shape[0];
      const K = k.put(ws[3 * l].dataSync());
      const R = k.put(ws[3 * l + 1].dataSync());
      const b = k.put(ws[3 * l + 2].dataSync());
      const H = k.alloc((T + 1) * B * U);
      const C = k.alloc((T + 1) * B * U);
      const A = k.alloc(T * B * 4 * U);
      k.x.lstm_forward(T, B, I, U, X, K, R, b, H, C, A);
      plan.push({ I, U, K, R, b, X, H, C, A });
      X = H + 4 * B * U; // the next layer's input is H[1..T]
      I = U;
    }
    const top = plan[L - 1];
    const value = tf.tensor2d(k.f32(top.H + 4 * T * B * top.U, B * top.U).slice(), [B, top.U]);
    const gradFunc = (dy: tf.Tensor) => {
      if (id !== forwardCount) throw new Error('fused LSTM: a second forward pass ran before this one\'s gradient was taken');
      const dys = dy.dataSync() as Float32Array;
      const grads: tf.Tensor[] = [];
      let dH = k.alloc(T * B * top.U);
      k.f32(dH + 4 * (T - 1) * B * top.U, B * top.U).set(dys);
      for (let l = L - 1; l >= 0; l--) {
        const p = plan[l];
        const G = 4 * p.U;
        const KT = k.put(transpose(k.f32(p.K, p.I * G).slice(), p.I, G));
        const RT = k.put(transpose(k.f32(p.R, p.U * G).slice(), p.U, G));
        const dX = l > 0 ? k.alloc(T * B * p.I) : 0;
        const dK = k.alloc(p.I * G);
        const dR = k.alloc(p.U * G);
        const db = k.alloc(G);
        const dZ = k.alloc(T * B * G);
        const dc = k.alloc(B * p.U);
        k.x.lstm_backward(T, B, p.I, p.U, p.X, KT, RT, p.H, p.C, p.A, dH, dX, dK, dR, db, dZ, dc);
        grads[3 * l] = tf.tensor2d(k.f32(dK, p.I * G).slice(), [p.I, G]);
        grads[3 * l + 1] = tf.tensor2d(k.f32(dR, p.U * G).slice(), [p.U, G]);
        grads[3 * l + 2] = tf.tensor1d(k.f32(db, G).slice());
        dH = dX;
      }
      return [tf.zerosLike(xt), ...grads];
    };
    return { value, gradFunc };
  });
  return op(x, ...weights) as tf.Tensor2D;
}

/** The model's output `[batch, 1]` through the fused stack and the dense head. */
export function fusedLstmPredict(model: tf.LayersModel, x: tf.Tensor3D): tf.Tensor2D {
  const recurrent = model.layers.slice(0, -1).flatMap((l) => l.trainableWeights.map((w) => w.read()));
  const [headK, headB] = model.layers[model.layers.length - 1].trainableWeights.map((w) => w.read());
  const h = fusedLstmStack(x, recurrent);
  return tf.add(tf.matMul(h, headK), headB) as tf.Tensor2D;
}

/** True when recurrent weights can run on lstm.wasm (LSTM, every layer size a multiple of 4). */
export function wasmCapable(w: RecurrentWeights): boolean {
  return w.cell === 'lstm' && w.units.every((u) => u % 4 === 0);
}

/** Most floats of gate activations held at once while predicting windows (bounds memory). */
const PREDICT_GATE_FLOATS = 4 << 20;

/**
 * Teacher-forced predictions for the windows at `starts`, each from a zero state, on lstm.wasm:
 * the same numbers as predictWindows (within float rounding), many times faster. `[starts.length]`.
 */
export function fusedPredictWindows(weights: RecurrentWeights, signal: Float32Array, starts: ArrayLike<number>, window: number): Float32Array {
  const k = new LstmKernel();
  const T = window;
  const maxU = Math.max(...weights.units);
  const chunk = Math.max(1, Math.min(starts.length, Math.floor(PREDICT_GATE_FLOATS / (T * 4 * maxU))));
  const layers = weights.layers.map((l) => ({ ...l, K: k.put(l.kernel), R: k.put(l.recurrent), b: k.put(l.bias) }));
  const mark = k.alloc(0);
  const out = new Float32Array(starts.length);
  const U = weights.units[weights.units.length - 1];
  for (let from = 0; from < starts.length; from += chunk) {
    const B = Math.min(chunk, starts.length - from);
    k.rewind(mark);
    const X0 = k.alloc(T * B);
    const v = k.f32(X0, T * B);
    for (let b = 0; b < B; b++) {
      const s = starts[from + b];
      for (let t = 0; t < T; t++) v[t * B + b] = signal[s + t];
    }
    let X = X0;
    let H = 0;
    for (const l of layers) {
      H = k.alloc((T + 1) * B * l.units);
      const C = k.alloc((T + 1) * B * l.units);
      const A = k.alloc(T * B * 4 * l.units);
      k.x.lstm_forward(T, B, l.inputSize, l.units, X, l.K, l.R, l.b, H, C, A);
      X = H + 4 * B * l.units;
    }
    const h = k.f32(H + 4 * T * B * U, B * U);
    for (let b = 0; b < B; b++) {
      let y = weights.headBias;
      for (let j = 0; j < U; j++) y += h[b * U + j] * weights.headKernel[j];
      out[from + b] = y;
    }
  }
  return out;
}

/** A stack of LSTM layers loaded into lstm.wasm with its state, for priming and free-running generation. */
export class WasmLstmStepper {
  private readonly k = new LstmKernel();
  private readonly desc: number;
  private readonly headK: number;
  private readonly z: number;
  private readonly y: number;
  private readonly stateAt: { h: number; c: number; n: number }[];
  private readonly mark: number;

  constructor(
    readonly weights: RecurrentWeights,
    readonly state: RecurrentState,
  ) {
    const k = this.k;
    const B = state.batch;
    this.desc = k.alloc(7 * weights.layers.length);
    const rows: number[] = [];
    this.stateAt = weights.layers.map((l, i) => {
      const h = k.put(state.h[i]);
      const c = k.put(state.c[i]);
      rows.push(l.inputSize, l.units, k.put(l.kernel), k.put(l.recurrent), k.put(l.bias), h, c);
      return { h, c, n: B * l.units };
    });
    k.i32(this.desc, rows.length).set(rows);
    this.headK = k.put(weights.headKernel);
    this.z = k.alloc(4 * Math.max(...weights.units));
    this.y = k.alloc(B);
    this.mark = k.alloc(0);
  }

  /** Feeds inputs `[steps, batch]` (network units) through the stack. */
  feed(xs: Float32Array, steps: number): void {
    this.k.rewind(this.mark);
    const p = this.k.put(xs);
    this.k.x.lstm_feed(this.weights.layers.length, this.desc, this.state.batch, p, steps, this.z);
  }

  /** Generates `steps` samples per stream, `[steps, batch]` in network units, feeding each back. */
  generate(steps: number): Float32Array {
    this.k.rewind(this.mark);
    const out = this.k.alloc(steps * this.state.batch);
    this.k.x.lstm_generate(this.weights.layers.length, this.desc, this.state.batch, this.headK, this.weights.headBias, steps, out, this.z, this.y);
    return this.k.f32(out, steps * this.state.batch).slice();
  }

  /** Copies the state held in wasm memory back into `state`. */
  syncState(): RecurrentState {
    this.stateAt.forEach((s, i) => {
      this.state.h[i].set(this.k.f32(s.h, s.n));
      this.state.c[i].set(this.k.f32(s.c, s.n));
    });
    return this.state;
  }
}
