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
   * @returns {Float32Array} the top layer's last h, [B, U_top]
   */
  forward(T, B, layers, x, cell = 'lstm') {
    this.top = this.base;
    const X0 = this.put(x);
    const plan = [];
    let X = X0;
    let I = 1;
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
    this.plan = { T, B, layers: plan, cell };
    const top = plan[plan.length - 1];
    return this.f32(top.H + 4 * T * B * top.U, B * top.U).slice();
  }

  /**
   * @param {Float32Array} dy gradient w.r.t. the top layer's last h, [B, U_top]
   * @returns {{dK: Float32Array, dR: Float32Array, db: Float32Array}[]} per layer, summed over this share's rows
   */
  backward(dy) {
    if (!this.plan) throw new Error('fused recurrent op: backward called before forward');
    const { T, B, layers, cell } = this.plan;
    const gates = cell === 'lstm' ? 4 : 3;
    const grads = [];
    const top = layers[layers.length - 1];
    let dH = this.alloc(T * B * top.U);
    this.f32(dH + 4 * (T - 1) * B * top.U, B * top.U).set(dy);
    for (let l = layers.length - 1; l >= 0; l--) {
      const p = layers[l];
      const G = gates * p.U;
      const KT = this.put(transpose(this.f32(p.K, p.I * G), p.I, G));
      const RT = this.put(transpose(this.f32(p.R, p.U * G), p.U, G));
      const dX = l > 0 ? this.alloc(T * B * p.I) : 0;
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
