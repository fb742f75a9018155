// One share of a fused LSTM or GRU stack's batch, run on an instance of lstm.wasm: forward over the
// whole sequence, then backpropagation through time. Plain JavaScript so that the worker threads
// (lstm-worker.js) load it without a TypeScript loader; fused-recurrent.ts drives it.

function align(n) {
  return (n + 15) & ~15;
}

export class LstmShard {
  /** @param {WebAssembly.Module} module compiled lstm.wasm */
  constructor(module) {
    this.x = new WebAssembly.Instance(module, {}).exports;
    this.base = align(this.x.__heap_base.value);
    this.top = this.base;
    this.plan = null;
    this.head = null;
  }

  alloc(floats) {
    const ptr = this.top;
    this.top = align(ptr + 4 * floats);
    const need = this.top - this.x.memory.buffer.byteLength;
    if (need > 0) this.x.memory.grow(Math.ceil(need / 65536));
    new Float32Array(this.x.memory.buffer, ptr, floats).fill(0);
    return ptr;
  }

  f32(ptr, floats) {
    return new Float32Array(this.x.memory.buffer, ptr, floats);
  }

  put(data) {
    const ptr = this.alloc(data.length);
    this.f32(ptr, data.length).set(data);
    return ptr;
  }

  /**
   * @param {number} T time steps  @param {number} B rows in this share
   * @param {{K: Float32Array, R: Float32Array, b: Float32Array, U: number}[]} layers kernels [I,4U], [U,4U], bias [4U]
   * @param {Float32Array} x inputs, time-major [T, B]
   * @param {'lstm' | 'gru'} cell
   * @param {number} inputs features per step of x (x is then [T, B, inputs])
   * @returns {Float32Array} the top layer's last h, [B, U_top]
   */
  forward(T, B, layers, x, cell = 'lstm', inputs = 1) {
    this.top = this.base;
    const X0 = this.put(x);
    const plan = [];
    let X = X0;
    let I = inputs;
    for (const layer of layers) {
      const U = layer.U;
      const K = this.put(layer.K);
      const R = this.put(layer.R);
      const b = this.put(layer.b);
      const H = this.alloc((T + 1) * B * U);
      const C = cell === 'lstm' ? this.alloc((T + 1) * B * U) : 0;
      const A = this.alloc(T * B * 4 * U);
      if (cell === 'lstm') this.x.lstm_forward(T, B, I, U, X, K, R, b, H, C, A);
      else this.x.gru_forward(T, B, I, U, X, K, R, b, H, A);
      plan.push({ I, U, K, R, X, H, C, A });
      X = H + 4 * B * U; // the next layer's input is H[1..T]
      I = U;
    }
    this.plan = { T, B, layers: plan, cell, inputs };
    const top = plan[plan.length - 1];
    return this.f32(top.H + 4 * T * B * top.U, B * top.U).slice();
  }

  /**
   * @param {Float32Array} dy gradient w.r.t. the top layer's last h, [B, U_top]
   * @returns {{dK: Float32Array, dR: Float32Array, db: Float32Array}[]} per layer, summed over this share's rows
   */
  backward(dy) {
    if (!this.plan) throw new Error('fused recurrent op: backward called before forward');
    const { T, B, layers } = this.plan;
    const top = layers[layers.length - 1];
    const dH = this.alloc(T * B * top.U);
    this.f32(dH + 4 * (T - 1) * B * top.U, B * top.U).set(dy);
    return this.backThroughTime(dH);
  }

  /**
   * After forward: the top layer's h at every step, time-major [T, B, U_top] (a copy).
   * @returns {Float32Array}
   */
  sequence() {
    if (!this.plan) throw new Error('fused recurrent op: sequence called before forward');
    const { T, B, layers } = this.plan;
    const top = layers[layers.length - 1];
    return this.f32(top.H + 4 * B * top.U, T * B * top.U).slice();
  }

  /**
   * Backward from the gradient w.r.t. every step's top h (time-major [T, B, U_top]), through time.
   * @param {Float32Array} dy
   * @returns {{grads: {dK: Float32Array, dR: Float32Array, db: Float32Array}[], dX: Float32Array}} per layer, and the input's gradient [T, B, inputs]
   */
  backwardSequence(dy) {
    if (!this.plan) throw new Error('fused recurrent op: backwardSequence called before forward');
    const { T, B, layers, inputs } = this.plan;
    const U = layers[layers.length - 1].U;
    if (dy.length !== T * B * U) throw new Error(`fused recurrent op: ${dy.length} gradients for ${T} x ${B} x ${U} outputs`);
    const dH = this.put(dy);
    const dX = this.alloc(T * B * inputs);
    const grads = this.backThroughTime(dH, dX);
    return { grads, dX: this.f32(dX, T * B * inputs).slice() };
  }

  /**
   * After forward: the softmax cross-entropy of a dense head over the top layer's h at every step
   * from `burn` on, against `targets` (time-major [T, B] levels in [0, V)). Keeps what its backward needs.
   * @param {Int32Array} targets  @param {number} burn steps whose loss is not counted (the state warms up)
   * @param {Float32Array} W head kernel [U_top, V]  @param {Float32Array} bias [V]
   * @returns {number} the summed loss in nats over (T - burn)·B predictions
   */
  headLoss(targets, burn, W, bias) {
    if (!this.plan) throw new Error('fused recurrent op: headLoss called before forward');
    const { T, B, layers } = this.plan;
    const U = layers[layers.length - 1].U;
    const V = bias.length;
    const M = (T - burn) * B;
    const tgt = this.alloc(M);
    new Int32Array(this.x.memory.buffer, tgt, M).set(targets.subarray(burn * B));
    const Wp = this.put(W);
    const bp = this.put(bias);
    const P = this.alloc(M * V);
    const loss = this.x.softmax_xent(M, U, V, layers[layers.length - 1].H + 4 * (1 + burn) * B * U, U, tgt, Wp, bp, P);
    this.head = { burn, M, U, V, W: Wp, P };
    return loss;
  }

  /**
   * After headLoss: each counted prediction's loss in nats, time-major [(T - burn), B], read back from
   * the softmax it kept (-log p_target; coarse below p = 1e-7, for spreads, not for the total).
   */
  rowLosses(targets) {
    const { burn, M, V, P } = this.head;
    const B = this.plan.B;
    const p = this.f32(P, M * V);
    const out = new Float32Array(M);
    for (let m = 0; m < M; m++) out[m] = -Math.log(Math.max(1e-30, p[m * V + targets[burn * B + m]] + 1));
    return out;
  }

  /**
   * Backward of headLoss scaled by `scale`, then through time.
   * @returns {{dW: Float32Array, db: Float32Array, grads: {dK: Float32Array, dR: Float32Array, db: Float32Array}[], dX: Float32Array}}
   */
  backwardHead(scale) {
    if (!this.plan || !this.head) throw new Error('fused recurrent op: backwardHead called before headLoss');
    const { T, B, layers, inputs } = this.plan;
    const { burn, M, U, V, W, P } = this.head;
    const top = layers[layers.length - 1];
    const WT = this.put(transpose(this.f32(W, U * V), U, V));
    const dW = this.alloc(U * V);
    const db = this.alloc(V);
    const dH = this.alloc(T * B * U);
    this.x.softmax_xent_backward(M, U, V, top.H + 4 * (1 + burn) * B * U, U, P, WT, scale, dH + 4 * burn * B * U, U, dW, db);
    const head = { dW: this.f32(dW, U * V).slice(), db: this.f32(db, V).slice() };
    this.head = null;
    const dX = this.alloc(T * B * inputs);
    const grads = this.backThroughTime(dH, dX);
    return { ...head, grads, dX: this.f32(dX, T * B * inputs).slice() };
  }

  /** BPTT from the gradient dH [T, B, U_top] w.r.t. the top layer's h; dX0 (optional) receives the input's gradient. */
  backThroughTime(dH, dX0 = 0) {
    const { T, B, layers, cell } = this.plan;
    const gates = cell === 'lstm' ? 4 : 3;
    const grads = [];
    for (let l = layers.length - 1; l >= 0; l--) {
      const p = layers[l];
      const G = gates * p.U;
      const KT = this.put(transpose(this.f32(p.K, p.I * G), p.I, G));
      const RT = this.put(transpose(this.f32(p.R, p.U * G), p.U, G));
      const dX = l > 0 ? this.alloc(T * B * p.I) : dX0;
      const dK = this.alloc(p.I * G);
      const dR = this.alloc(p.U * G);
      const db = this.alloc(G);
      const dZ = this.alloc(T * B * G);
      const scratch = this.alloc(B * p.U);
      if (cell === 'lstm') this.x.lstm_backward(T, B, p.I, p.U, p.X, KT, RT, p.H, p.C, p.A, dH, dX, dK, dR, db, dZ, scratch);
      else this.x.gru_backward(T, B, p.I, p.U, p.X, KT, RT, p.H, p.A, dH, dX, dK, dR, db, dZ, scratch);
      grads[l] = { dK: this.f32(dK, p.I * G).slice(), dR: this.f32(dR, p.U * G).slice(), db: this.f32(db, G).slice() };
      dH = dX;
    }
    this.plan = null;
    return grads;
  }
}

function transpose(src, rows, cols) {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}
