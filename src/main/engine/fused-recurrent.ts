// The fused LSTM or GRU stack as a tfjs op with a custom gradient: the whole sequence forward and
// backpropagation through time run in lstm.wasm (WebAssembly SIMD), so tfjs's optimizers, saving
// and loading stay as they are while a training step costs a fraction of tfjs-layers' op loop.
// Used on the cpu and wasm backends for stacks whose layer sizes are multiples of 4 and
// without dropout; anything else trains through tfjs-layers.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../shared/contract';
import type { RecurrentState } from '../../shared/packed-state';
import type { LayerWeights, RecurrentWeights } from './recurrent-step';
import { LstmShard, type HeadGrads, type ShardGrads, type ShardLayer } from './native/lstm-shard.js';

const WASM_URL = new URL('./native/lstm.wasm', import.meta.url);
const WORKER_URL = new URL('./native/lstm-worker.js', import.meta.url);

let compiled: WebAssembly.Module | null = null;
function lstmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

/** An instance of lstm.wasm with a bump allocator over its memory, for prediction and generation. */
export class LstmKernel extends LstmShard {
  constructor() {
    super(lstmModule());
  }

  /** Frees everything allocated after `mark` (a value alloc returned). */
  rewind(mark: number): void {
    this.top = mark;
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.x.memory.buffer, ptr, n);
  }

  /**
   * Copies a stack's weights and its state into memory, with the descriptor lstm_generate, stack_feed
   * and cat_generate read (7 ints per layer: I, U, K, R, bias, h [B, U], c [B, U]; c is 0 for a GRU).
   */
  loadStack(layers: LayerWeights[], state: RecurrentState): LoadedStack {
    const desc = this.alloc(7 * layers.length);
    const rows: number[] = [];
    const stateAt = layers.map((l, i) => {
      const h = this.put(state.h[i]);
      const c = state.cell === 'lstm' ? this.put(state.c[i]) : 0;
      rows.push(l.inputSize, l.units, this.put(l.kernel), this.put(l.recurrent), this.put(l.bias), h, c);
      return { h, c, n: state.batch * l.units };
    });
    this.i32(desc, rows.length).set(rows);
    return { desc, stateAt };
  }

  /** Copies the state of a loaded stack from memory back into `state`. */
  readStack(stack: LoadedStack, state: RecurrentState): RecurrentState {
    stack.stateAt.forEach((s, i) => {
      state.h[i].set(this.f32(s.h, s.n));
      if (state.cell === 'lstm') state.c[i].set(this.f32(s.c, s.n));
    });
    return state;
  }
}

/** A recurrent stack in an LstmKernel's memory: its descriptor and where each layer's (h, c) lies. */
export interface LoadedStack {
  desc: number;
  stateAt: { h: number; c: number; n: number }[];
}

interface RemoteShard {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
}

/** How long a training worker thread may take to load its module before it is given up. */
const WORKER_START_TIMEOUT_MS = 15_000;

/** Batch rows below which a training step stays on one thread (the hand-off costs more). */
const MIN_ROWS_PER_THREAD = 8;

/**
 * The training step's shards: one on this thread and one per extra core in worker threads.
 * tfjs ops are synchronous, so this thread blocks (Atomics.wait) while the workers run.
 */
export class ShardPool {
  readonly local = new LstmShard(lstmModule());
  private readonly remotes: RemoteShard[] = [];
  /** Why fewer threads run than were asked for, or null. */
  readonly degraded: string | null = null;

  constructor(threads: number, workerUrl: URL = WORKER_URL, startTimeoutMs = WORKER_START_TIMEOUT_MS) {
    const failed: string[] = [];
    for (let i = 1; i < threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const ctrl = new Int32Array(new SharedArrayBuffer(16));
      const worker = new Worker(workerUrl, { workerData: { module: lstmModule(), port: port2, ctrl: ctrl.buffer }, transferList: [port2] });
      worker.unref();
      worker.on('error', (e) => process.stderr.write(`fused recurrent: worker thread ${i} failed: ${e.message}\n`)); // never an uncaught error
      port1.unref();
      // A worker whose module fails to load never runs its exit handler, and this thread would then
      // wait for it for ever inside a training step: it must say it started (ctrl[3]) first.
      if (Atomics.wait(ctrl, 3, 0, startTimeoutMs) === 'timed-out' && Atomics.load(ctrl, 3) === 0) {
        failed.push(`worker thread ${i} did not start within ${startTimeoutMs / 1000} s`);
        void worker.terminate();
        continue;
      }
      this.remotes.push({ worker, port: port1, ctrl });
    }
    if (failed.length) {
      this.degraded = `${failed.join('; ')}: training on ${1 + this.remotes.length} thread(s)`;
      process.stderr.write(`fused recurrent: ${this.degraded}\n`);
    }
  }

  get threads(): number {
    return 1 + this.remotes.length;
  }

  /** Runs `local` here and `msgs[i]` on remote i, returning the remotes' replies in order. */
  run<T>(msgs: object[], local: () => void): T[] {
    msgs.forEach((m, i) => {
      const r = this.remotes[i];
      // A reply left unread by a step that threw is stale: it must not answer this step.
      while (receiveMessageOnPort(r.port));
      r.port.postMessage(m);
      Atomics.add(r.ctrl, 0, 1);
      Atomics.notify(r.ctrl, 0);
    });
    local();
    return msgs.map((_, i) => {
      const r = this.remotes[i];
      for (;;) {
        // Read the counter before looking for the reply: a reply posted in between changes it, so
        // the wait below returns at once instead of missing the wake-up.
        const seen = Atomics.load(r.ctrl, 1);
        const reply = receiveMessageOnPort(r.port);
        if (reply) {
          const m = reply.message as T & { error?: string };
          if (m.error) throw new Error(`fused recurrent worker: ${m.error}`);
          return m;
        }
        if (Atomics.load(r.ctrl, 2)) throw new Error('fused recurrent worker: the worker thread stopped');
        Atomics.wait(r.ctrl, 1, seen, 1000);
      }
    });
  }

  dispose(): void {
    for (const r of this.remotes) {
      r.port.postMessage({ cmd: 'exit' });
      Atomics.add(r.ctrl, 0, 1);
      Atomics.notify(r.ctrl, 0);
      void r.worker.terminate();
    }
    this.remotes.length = 0;
  }
}

/** Training threads: $SEQUENCE_LAB_THREADS, else one per core (at most 8). */
export function trainingThreads(): number {
  const env = Number(process.env.SEQUENCE_LAB_THREADS);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, 64);
  return Math.max(1, Math.min(8, availableParallelism()));
}

let pool: ShardPool | null = null;
function shardPool(): ShardPool {
  pool ??= new ShardPool(trainingThreads());
  return pool;
}


/** The per-layer (kernel, recurrent, bias) tensors of a fused op's arguments, as a shard reads them. */
function shardLayers(ws: tf.Tensor[], layers: number): ShardLayer[] {
  return Array.from({ length: layers }, (_, l) => ({
    K: ws[3 * l].dataSync() as Float32Array,
    R: ws[3 * l + 1].dataSync() as Float32Array,
    b: ws[3 * l + 2].dataSync() as Float32Array,
    U: ws[3 * l + 1].shape[0],
  }));
}

/** How a batch of B rows is split over the pool: rows [bounds[i], bounds[i+1]) go to part i; part 0 runs on this thread. */
function rowBounds(B: number, threads: number): number[] {
  const parts = Math.max(1, Math.min(threads, Math.floor(B / MIN_ROWS_PER_THREAD)));
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * B) / parts));
}

/** Rows [bounds[i], bounds[i+1]) of batch-major `src` `[B, T, W]`, time-major `[T, n, W]` (as a shard reads them). */
function partTimeMajor(src: Float32Array, bounds: number[], i: number, T: number, W: number): Float32Array {
  const n = bounds[i + 1] - bounds[i];
  const out = new Float32Array(T * n * W);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < T; t++) out.set(src.subarray(((bounds[i] + b) * T + t) * W, ((bounds[i] + b) * T + t + 1) * W), (t * n + b) * W);
  }
  return out;
}

/** Part i's time-major `[T, n, W]` back into its rows of batch-major `dst` `[B, T, W]`. */
function placeBatchMajor(part: Float32Array, dst: Float32Array, bounds: number[], i: number, T: number, W: number): void {
  const n = bounds[i + 1] - bounds[i];
  for (let t = 0; t < T; t++) for (let b = 0; b < n; b++) dst.set(part.subarray((t * n + b) * W, (t * n + b + 1) * W), ((bounds[i] + b) * T + t) * W);
}

/** Each layer's (kernel, recurrent, bias) gradients summed over this thread's shard and the others', as tensors shaped like `ws`. */
function summedLayerGrads(local: ShardGrads[], remote: ShardGrads[][], ws: tf.Tensor[], layers: number): tf.Tensor[] {
  const grads: tf.Tensor[] = [];
  for (let l = 0; l < layers; l++) {
    const sum = (key: keyof ShardGrads) => {
      const acc = local[l][key];
      for (const r of remote) {
        const g = r[l][key];
        for (let i = 0; i < acc.length; i++) acc[i] += g[i];
      }
      return acc;
    };
    grads.push(tf.tensor2d(sum('dK'), ws[3 * l].shape as [number, number]), tf.tensor2d(sum('dR'), ws[3 * l + 1].shape as [number, number]), tf.tensor1d(sum('db')));
  }
  return grads;
}

/** True when a model spec can train through the fused op on the current backend. */
export function canUseFusedRecurrent(spec: ModelSpec, backend: string): boolean {
  return (backend === 'cpu' || backend === 'wasm') && spec.dropout === 0 && spec.units.every((u) => u % 4 === 0);
}


/**
 * The recurrent stack, forward: x `[batch, time, 1]` and per layer (kernel `[in, 4u]`, recurrent
 * `[u, 4u]`, bias `[4u]`) -> the last step's h of the top layer, `[batch, u_top]`.
 * Differentiable with respect to every weight (the input's gradient is zero: it is data).
 * The batch is split across the shard pool's threads; their weight gradients are summed.
 */
export function fusedRecurrentStack(x: tf.Tensor3D, weights: tf.Tensor[], cell: 'lstm' | 'gru' = 'lstm'): tf.Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, ...ws] = args.slice(0, -1) as tf.Tensor[];
    const [B, T] = xt.shape;
    const L = ws.length / 3;
    const p = shardPool();
    const xs = xt.dataSync() as Float32Array;
    const layers = shardLayers(ws, L);
    const U = layers[L - 1].U;
    const bounds = rowBounds(B, p.threads);
    const timeMajor = (i: number) => partTimeMajor(xs, bounds, i, T, 1);
    const h = new Float32Array(B * U);
    const replies = p.run<{ h: Float32Array }>(
      bounds.slice(1, -1).map((_, j) => ({ cmd: 'forward', T, B: bounds[j + 2] - bounds[j + 1], layers, x: timeMajor(j + 1), cell })),
      () => h.set(p.local.forward(T, bounds[1], layers, timeMajor(0), cell), 0),
    );
    replies.forEach((r, j) => h.set(r.h, bounds[j + 1] * U));
    const value = tf.tensor2d(h, [B, U]);
    const gradFunc = (dy: tf.Tensor) => {
      const dys = dy.dataSync() as Float32Array;
      let local: ShardGrads[] = [];
      const remote = p.run<{ grads: ShardGrads[] }>(
        bounds.slice(1, -1).map((_, j) => ({ cmd: 'backward', dy: dys.slice(bounds[j + 1] * U, bounds[j + 2] * U) })),
        () => (local = p.local.backward(dys.slice(0, bounds[1] * U))),
      );
      return [tf.zerosLike(xt), ...summedLayerGrads(local, remote.map((r) => r.grads), ws, L)];
    };
    return { value, gradFunc };
  });
  return op(x, ...weights) as tf.Tensor2D;
}

/**
 * The recurrent stack, forward over every step: x `[batch, time, inputs]` and per layer (kernel, recurrent,
 * bias) -> the top layer's h at every step, `[batch, time, u_top]`, for a head that tfjs computes over all
 * steps at once (the spectral family's). Differentiable with respect to x (an embedding's output) and every
 * weight. Forward and backpropagation through time run in lstm.wasm over the shard pool.
 */
export function fusedRecurrentSequence(x: tf.Tensor3D, weights: tf.Tensor[], cell: 'lstm' | 'gru'): tf.Tensor3D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, ...ws] = args.slice(0, -1) as tf.Tensor[];
    const [B, T, I] = xt.shape;
    const L = ws.length / 3;
    const p = shardPool();
    const xs = xt.dataSync() as Float32Array;
    const layers = shardLayers(ws, L);
    const U = layers[L - 1].U;
    const bounds = rowBounds(B, p.threads);
    const timeMajor = (i: number) => partTimeMajor(xs, bounds, i, T, I);
    const h = new Float32Array(B * T * U);
    const place = (i: number, seq: Float32Array) => placeBatchMajor(seq, h, bounds, i, T, U);
    const replies = p.run<{ h: Float32Array }>(
      bounds.slice(1, -1).map((_, j) => ({ cmd: 'forwardSequence', T, B: bounds[j + 2] - bounds[j + 1], layers, x: timeMajor(j + 1), cell, inputs: I })),
      () => {
        p.local.forward(T, bounds[1], layers, timeMajor(0), cell, I);
        place(0, p.local.sequence());
      },
    );
    replies.forEach((r, j) => place(j + 1, r.h));
    const value = tf.tensor3d(h, [B, T, U]);
    const gradFunc = (dy: tf.Tensor) => {
      const dys = dy.dataSync() as Float32Array;
      const part = (i: number) => partTimeMajor(dys, bounds, i, T, U);
      let local!: { grads: ShardGrads[]; dX: Float32Array };
      const remote = p.run<{ grads: ShardGrads[]; dX: Float32Array }>(
        bounds.slice(1, -1).map((_, j) => ({ cmd: 'backwardSequence', dy: part(j + 1) })),
        () => (local = p.local.backwardSequence(part(0))),
      );
      const grads = summedLayerGrads(local.grads, remote.map((r) => r.grads), ws, L);
      const dx = new Float32Array(B * T * I);
      [local, ...remote].forEach((g, i) => placeBatchMajor(g.dX, dx, bounds, i, T, I));
      return [tf.tensor3d(dx, [B, T, I]), ...grads];
    };
    return { value, gradFunc };
  });
  return op(x, ...weights) as tf.Tensor3D;
}

/**
 * A recurrent stack with a dense softmax head over every step, as one op: the mean cross-entropy in nats
 * of the predictions at steps `burn .. T-1` against `targets` (row-major `[B, T]` levels). x `[B, T, I]`;
 * weights: per layer (kernel, recurrent, bias), then the head's kernel `[U_top, V]` and bias `[V]`.
 * Forward, softmax, the head's gradient (p - onehot) and backpropagation through time all run in
 * lstm.wasm, split across the shard pool's threads; no tfjs op runs per time step.
 * Differentiable with respect to x and every weight.
 */
export function fusedCategoricalLoss(x: tf.Tensor3D, targets: Int32Array, burn: number, weights: tf.Tensor[], cell: 'lstm' | 'gru'): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, ...ws] = args.slice(0, -1) as tf.Tensor[];
    const [B, T, I] = xt.shape;
    if (targets.length !== B * T) throw new Error(`fused categorical loss: ${targets.length} targets for a batch of ${B} x ${T}`);
    if (!(burn >= 0 && burn < T)) throw new Error(`fused categorical loss: burn-in ${burn} must be below the window ${T}`);
    const L = (ws.length - 2) / 3;
    const p = shardPool();
    const xs = xt.dataSync() as Float32Array;
    const layers = shardLayers(ws, L);
    const W = ws[3 * L].dataSync() as Float32Array;
    const bias = ws[3 * L + 1].dataSync() as Float32Array;
    const bounds = rowBounds(B, p.threads);
    const part = (i: number) => {
      const n = bounds[i + 1] - bounds[i];
      const tOut = new Int32Array(T * n);
      for (let b = 0; b < n; b++) for (let t = 0; t < T; t++) tOut[t * n + b] = targets[(bounds[i] + b) * T + t];
      return { T, B: n, layers, x: partTimeMajor(xs, bounds, i, T, I), targets: tOut, cell, inputs: I, burn, W, bias };
    };
    const count = (T - burn) * B;
    let localLoss = 0;
    const replies = p.run<{ loss: number }>(
      bounds.slice(1, -1).map((_, j) => ({ cmd: 'forwardHead', ...part(j + 1) })),
      () => {
        const m = part(0);
        p.local.forward(m.T, m.B, m.layers, m.x, m.cell, m.inputs);
        localLoss = p.local.headLoss(m.targets, burn, W, bias);
      },
    );
    const value = tf.scalar((localLoss + replies.reduce((s, r) => s + r.loss, 0)) / count);
    const gradFunc = (dy: tf.Tensor) => {
      const scale = (dy.dataSync() as Float32Array)[0] / count;
      let local!: HeadGrads;
      const remote = p.run<HeadGrads>(
        bounds.slice(1, -1).map(() => ({ cmd: 'backwardHead', scale })),
        () => (local = p.local.backwardHead(scale)),
      );
      const all = [local, ...remote];
      const sum = (pick: (g: HeadGrads) => Float32Array) => {
        const acc = pick(local);
        for (const r of remote) {
          const g = pick(r);
          for (let i = 0; i < acc.length; i++) acc[i] += g[i];
        }
        return acc;
      };
      const dx = new Float32Array(B * T * I);
      all.forEach((g, i) => placeBatchMajor(g.dX, dx, bounds, i, T, I));
      return [
        tf.tensor3d(dx, [B, T, I]),
        ...summedLayerGrads(local.grads, remote.map((r) => r.grads), ws, L),
        tf.tensor2d(sum((g) => g.dW), ws[3 * L].shape as [number, number]),
        tf.tensor1d(sum((g) => g.db)),
      ];
    };
    return { value, gradFunc };
  });
  return op(x, ...weights) as tf.Scalar;
}

/** The model's output `[batch, 1]` through the fused stack and the dense head. */
export function fusedRecurrentPredict(model: tf.LayersModel, x: tf.Tensor3D): tf.Tensor2D {
  const recurrent = model.layers.slice(0, -1).flatMap((l) => l.trainableWeights.map((w) => w.read()));
  const [headK, headB] = model.layers[model.layers.length - 1].trainableWeights.map((w) => w.read());
  const cell = model.layers[0].getClassName() === 'GRU' ? 'gru' : 'lstm';
  const h = fusedRecurrentStack(x, recurrent, cell);
  return tf.add(tf.matMul(h, headK), headB) as tf.Tensor2D;
}

/** True when recurrent weights can run on lstm.wasm (every layer size a multiple of 4). */
export function wasmCapable(w: RecurrentWeights): boolean {
  return w.units.every((u) => u % 4 === 0);
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
      const A = k.alloc(T * B * 4 * l.units);
      if (weights.cell === 'lstm') k.x.lstm_forward(T, B, l.inputSize, l.units, X, l.K, l.R, l.b, H, k.alloc((T + 1) * B * l.units), A);
      else k.x.gru_forward(T, B, l.inputSize, l.units, X, l.K, l.R, l.b, H, A);
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
  private readonly stack: LoadedStack;
  private readonly headK: number;
  private readonly z: number;
  private readonly y: number;
  private readonly mark: number;

  constructor(
    readonly weights: RecurrentWeights,
    readonly state: RecurrentState,
  ) {
    const k = this.k;
    const B = state.batch;
    this.stack = k.loadStack(weights.layers, state);
    this.headK = k.put(weights.headKernel);
    this.z = k.alloc(4 * Math.max(...weights.units));
    this.y = k.alloc(B);
    this.mark = k.alloc(0);
  }

  /** Feeds inputs `[steps, batch]` (network units) through the stack. */
  feed(xs: Float32Array, steps: number): void {
    this.k.rewind(this.mark);
    const p = this.k.put(xs);
    this.k.x.lstm_feed(this.weights.layers.length, this.stack.desc, this.state.batch, p, steps, this.z);
  }

  /** Generates `steps` samples per stream, `[steps, batch]` in network units, feeding each back. */
  generate(steps: number): Float32Array {
    this.k.rewind(this.mark);
    const out = this.k.alloc(steps * this.state.batch);
    this.k.x.lstm_generate(this.weights.layers.length, this.stack.desc, this.state.batch, this.headK, this.weights.headBias, steps, out, this.z, this.y);
    return this.k.f32(out, steps * this.state.batch).slice();
  }

  /** Copies the state held in wasm memory back into `state`. */
  syncState(): RecurrentState {
    return this.k.readStack(this.stack, this.state);
  }
}
