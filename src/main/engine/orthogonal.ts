// The orthogonal initializer of recurrent kernels, computed fast. tfjs-layers' Orthogonal runs
// tf.linalg.qr, which took 1 s for 128 units, 5.5 s for 256 and over 7 minutes for 1024 on the wasm
// backend (ml-matrix's QR: 20 s for 512, 163 s for 1024), blocking the engine. This draws the same
// seeded Gaussian matrix and orthonormalises it by CholeskyQR2 (two passes of A = QR through
// AᵀA = RᵀR), whose heavy parts are matrix products that tfjs runs fast; the Cholesky factors are
// small (units × units) and done here in float64. Since R's diagonal is positive, Q is the same
// matrix tfjs-layers' "sign fix" produces, up to rounding.
import * as tf from '@tensorflow/tfjs';

/** Lower Cholesky factor of a symmetric positive-definite n×n matrix (row-major, float64). */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    const lj = j * n;
    for (let k = 0; k < j; k++) d -= l[lj + k] * l[lj + k];
    if (!(d > 0)) throw new Error('orthogonal initializer: the Gram matrix is not positive definite');
    const djj = Math.sqrt(d);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j];
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      l[li + j] = s / djj;
    }
  }
  return l;
}

/**
 * Inverse of a lower-triangular n×n matrix (row-major, float64), itself lower-triangular. Row by row
 * (row i of L⁻¹ = (eᵢ − Σₖ L[i,k]·row k of L⁻¹) / L[i,i]) so that every inner loop is contiguous.
 */
function invertLower(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const f = l[ri + k];
      if (f === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) inv[ri + j] -= f * inv[rk + j];
    }
    inv[ri + i] += 1;
    const d = l[ri + i];
    for (let j = 0; j <= i; j++) inv[ri + j] /= d;
  }
  return inv;
}

/** One CholeskyQR pass: Q = A R⁻¹ with RᵀR = AᵀA, for a tall `[m, n]` matrix. */
function choleskyQrPass(a: tf.Tensor2D): tf.Tensor2D {
  const n = a.shape[1];
  // tfjs-wasm's matMul with a transposed operand ran 20-35× slower than a plain one here, so the
  // transposes are explicit.
  const gramT = tf.tidy(() => tf.matMul(a.transpose(), a));
  const gram = gramT.dataSync(); // [n, n], small
  gramT.dispose();
  const linv = invertLower(cholesky(Float64Array.from(gram), n), n);
  const rinv = new Float32Array(n * n); // R⁻¹ = (Lᵀ)⁻¹ = (L⁻¹)ᵀ
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rinv[i * n + j] = linv[j * n + i];
  return tf.tidy(() => tf.matMul(a, tf.tensor2d(rinv, [n, n])));
}

/**
 * An orthogonal matrix of `shape` ([rows, cols]) drawn as tfjs-layers' orthogonal initializer draws
 * it (same seeded Gaussian, Q with a positive-diagonal R, transposed when rows < cols), times `gain`.
 */
export function orthogonalMatrix(shape: [number, number], seed: number | undefined, gain = 1): tf.Tensor2D {
  const [rows, cols] = shape;
  const tall: [number, number] = [Math.max(rows, cols), Math.min(rows, cols)];
  const g = tf.randomNormal(tall, 0, 1, 'float32', seed) as tf.Tensor2D;
  const q1 = choleskyQrPass(g);
  g.dispose();
  const q2 = choleskyQrPass(q1); // the second pass restores orthogonality lost to rounding
  q1.dispose();
  const out = tf.tidy(() => (rows < cols ? q2.transpose() : q2).mul(gain).reshape(shape) as tf.Tensor2D);
  q2.dispose();
  return out;
}
