// Fused LSTM and GRU kernels for WebAssembly SIMD: a whole sequence forward, backpropagation through time,
// and a stateful generation loop. Written by hand because tfjs runs an LSTM as a loop of tiny ops
// (about 450 sequences/s on the wasm backend for the sine preset); see bench/ for what this gets.
//
// Memory is laid out by the caller (src/main/engine/fused-recurrent.ts); nothing here allocates.
// Shapes (row-major, time-major):
//   X  [T, B, I]   layer input          K  [I, 4U]  kernel        R  [U, 4U]  recurrent kernel
//   H  [T+1, B, U] H[0] = initial h     C  [T+1, B, U] cells      A  [T, B, 4U] activated gates i,f,g,o
// Gate order and equations follow tfjs-layers / Keras: i, f, c (g), o; sigmoid and tanh.
#include <wasm_simd128.h>

typedef v128_t f4;

static inline f4 splat(float x) { return wasm_f32x4_splat(x); }
static inline f4 ld(const float *p) { return wasm_v128_load(p); }
static inline void st(float *p, f4 v) { wasm_v128_store(p, v); }
static inline f4 mad(f4 a, f4 b, f4 c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }

// exp(x) for 4 lanes: x = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial for e^r, 2^n through the
// exponent bits. Relative error ~2e-7 over the clamped range [-87, 88].
static inline f4 exp4(f4 x) {
  // pmin/pmax (one instruction each; NaN still passes through) rather than min/max, which V8 expands for their
  // NaN and signed-zero rules: equal results for every x, as the bounds are not zero.
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, splat(-87.0f)), splat(88.0f));
  f4 n = wasm_f32x4_nearest(wasm_f32x4_mul(x, splat(1.44269504088896341f)));
  f4 r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  f4 p = splat(1.0f / 720.0f);
  p = mad(p, r, splat(1.0f / 120.0f));
  p = mad(p, r, splat(1.0f / 24.0f));
  p = mad(p, r, splat(1.0f / 6.0f));
  p = mad(p, r, splat(0.5f));
  p = mad(p, r, splat(1.0f));
  p = mad(p, r, splat(1.0f));
  // 2^n: n + 1.5·2^23 holds the integer n in its low mantissa bits (exact for |n| < 2^22), and the shift drops the
  // exponent bits above them; cheaper in V8 than trunc_sat's NaN and overflow handling. (A NaN x leaves p NaN.)
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_f32x4_add(n, splat(12582912.0f)), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

static inline f4 sigmoid4(f4 x) { return wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), exp4(wasm_f32x4_neg(x)))); }

// tanh(x) = 1 - 2 / (e^{2x} + 1); for |x| < 0.25 a Taylor series keeps the relative error small.
static inline f4 tanh4(f4 x) {
  f4 big = wasm_f32x4_sub(splat(1.0f), wasm_f32x4_div(splat(2.0f), wasm_f32x4_add(exp4(wasm_f32x4_add(x, x)), splat(1.0f))));
  f4 x2 = wasm_f32x4_mul(x, x);
  f4 s = splat(-17.0f / 315.0f);
  s = mad(s, x2, splat(2.0f / 15.0f));
  s = mad(s, x2, splat(-1.0f / 3.0f));
  s = mad(s, x2, splat(1.0f));
  f4 small = wasm_f32x4_mul(s, x);
  v128_t useSmall = wasm_f32x4_lt(wasm_f32x4_abs(x), splat(0.25f));
  return wasm_v128_bitselect(small, big, useSmall);
}

// z[0..G) = bias + x[0..I)·K + h[0..U)·R, G a multiple of 16.
static void gates(int I, int U, const float *x, const float *h, const float *K, const float *R, const float *bias, float *z) {
  const int G = 4 * U;
  for (int n = 0; n < G; n += 16) {
    f4 a0 = ld(bias + n), a1 = ld(bias + n + 4), a2 = ld(bias + n + 8), a3 = ld(bias + n + 12);
    for (int k = 0; k < I; k++) {
      f4 s = splat(x[k]);
      const float *w = K + k * G + n;
      a0 = mad(s, ld(w), a0); a1 = mad(s, ld(w + 4), a1); a2 = mad(s, ld(w + 8), a2); a3 = mad(s, ld(w + 12), a3);
    }
    for (int k = 0; k < U; k++) {
      f4 s = splat(h[k]);
      const float *w = R + k * G + n;
      a0 = mad(s, ld(w), a0); a1 = mad(s, ld(w + 4), a1); a2 = mad(s, ld(w + 8), a2); a3 = mad(s, ld(w + 12), a3);
    }
    st(z + n, a0); st(z + n + 4, a1); st(z + n + 8, a2); st(z + n + 12, a3);
  }
}

// Activates z in place into gates a = (i, f, g, o) and updates c, h (all U a multiple of 4).
static void cell(int U, float *a, const float *cPrev, float *c, float *h) {
  for (int j = 0; j < U; j += 4) {
    f4 i = sigmoid4(ld(a + j));
    f4 f = sigmoid4(ld(a + U + j));
    f4 g = tanh4(ld(a + 2 * U + j));
    f4 o = sigmoid4(ld(a + 3 * U + j));
    st(a + j, i); st(a + U + j, f); st(a + 2 * U + j, g); st(a + 3 * U + j, o);
    f4 cj = wasm_f32x4_add(wasm_f32x4_mul(f, ld(cPrev + j)), wasm_f32x4_mul(i, g));
    st(c + j, cj);
    st(h + j, wasm_f32x4_mul(o, tanh4(cj)));
  }
}

// Forward over a whole sequence. H[0] and C[0] hold the initial state.
void lstm_forward(int T, int B, int I, int U, const float *X, const float *K, const float *R, const float *bias, float *H, float *C, float *A) {
  const int G = 4 * U, BU = B * U;
  for (int t = 0; t < T; t++) {
    for (int b = 0; b < B; b++) {
      float *a = A + (t * B + b) * G;
      gates(I, U, X + (t * B + b) * I, H + t * BU + b * U, K, R, bias, a);
      cell(U, a, C + t * BU + b * U, C + (t + 1) * BU + b * U, H + (t + 1) * BU + b * U);
    }
  }
}

// out[0..N) (+)= Σ_k in[k] · W[k·ws + 0..N) for one row; N a multiple of 4, ws the row stride of W.
static void rowTimes(int Kdim, int N, const float *in, const float *W, int ws, float *out, int accumulate) {
  int n = 0;
  for (; n + 16 <= N; n += 16) {
    f4 a0 = accumulate ? ld(out + n) : splat(0), a1 = accumulate ? ld(out + n + 4) : splat(0);
    f4 a2 = accumulate ? ld(out + n + 8) : splat(0), a3 = accumulate ? ld(out + n + 12) : splat(0);
    for (int k = 0; k < Kdim; k++) {
      f4 s = splat(in[k]);
      const float *w = W + k * ws + n;
      a0 = mad(s, ld(w), a0); a1 = mad(s, ld(w + 4), a1); a2 = mad(s, ld(w + 8), a2); a3 = mad(s, ld(w + 12), a3);
    }
    st(out + n, a0); st(out + n + 4, a1); st(out + n + 8, a2); st(out + n + 12, a3);
  }
  for (; n < N; n += 4) {
    f4 a0 = accumulate ? ld(out + n) : splat(0);
    for (int k = 0; k < Kdim; k++) a0 = mad(splat(in[k]), ld(W + k * ws + n), a0);
    st(out + n, a0);
  }
}

// W[k·ws + 0..N) += Σ_m X[m·xs + k] · D[m·ds + 0..N): gradient of a weight matrix over M rows.
// N a multiple of 4; columns go 8 at a time (4 rows x 2 vectors of accumulators), then 4.
static void outerAccumulate(int M, int Kdim, int N, const float *X, int xs, const float *D, int ds, float *W, int ws) {
  for (int k = 0; k < Kdim; k += 4) {
    int kk = Kdim - k < 4 ? Kdim - k : 4;
    for (int n = 0; n < N; n += 8) {
      int two = N - n >= 8;
      f4 a[4][2];
      for (int r = 0; r < 4; r++) {
        a[r][0] = r < kk ? ld(W + (k + r) * ws + n) : splat(0);
        a[r][1] = r < kk && two ? ld(W + (k + r) * ws + n + 4) : splat(0);
      }
      if (kk == 4 && two) {
        for (int m = 0; m < M; m++) {
          const float *x = X + m * xs + k;
          f4 d0 = ld(D + m * ds + n), d1 = ld(D + m * ds + n + 4);
          f4 s0 = splat(x[0]), s1 = splat(x[1]), s2 = splat(x[2]), s3 = splat(x[3]);
          a[0][0] = mad(s0, d0, a[0][0]); a[0][1] = mad(s0, d1, a[0][1]);
          a[1][0] = mad(s1, d0, a[1][0]); a[1][1] = mad(s1, d1, a[1][1]);
          a[2][0] = mad(s2, d0, a[2][0]); a[2][1] = mad(s2, d1, a[2][1]);
          a[3][0] = mad(s3, d0, a[3][0]); a[3][1] = mad(s3, d1, a[3][1]);
        }
      } else {
        for (int m = 0; m < M; m++) {
          const float *x = X + m * xs + k;
          f4 d0 = ld(D + m * ds + n), d1 = two ? ld(D + m * ds + n + 4) : splat(0);
          for (int r = 0; r < kk; r++) {
            f4 s = splat(x[r]);
            a[r][0] = mad(s, d0, a[r][0]); a[r][1] = mad(s, d1, a[r][1]);
          }
        }
      }
      for (int r = 0; r < kk; r++) {
        st(W + (k + r) * ws + n, a[r][0]);
        if (two) st(W + (k + r) * ws + n + 4, a[r][1]);
      }
    }
  }
}

// Backpropagation through time for one layer.
//   dH [T, B, U]: gradient of the loss w.r.t. each output h_t (consumed: used as scratch).
//   dX [T, B, I]: written when non-null (the gradient for the layer below).
//   dK, dR, db: accumulated (+=), so the caller zeroes them.
//   KT [4U, I], RT [4U, U]: transposed kernels; dZ [T, B, 4U], dc [B, U]: scratch.
void lstm_backward(int T, int B, int I, int U, const float *X, const float *KT, const float *RT, const float *H, const float *C,
                   const float *A, float *dH, float *dX, float *dK, float *dR, float *db, float *dZ, float *dc) {
  const int G = 4 * U, BU = B * U;
  for (int j = 0; j < BU; j++) dc[j] = 0;
  for (int t = T - 1; t >= 0; t--) {
    for (int b = 0; b < B; b++) {
      const float *a = A + (t * B + b) * G;
      float *dz = dZ + (t * B + b) * G;
      float *dh = dH + t * BU + b * U;
      float *dcb = dc + b * U;
      const float *cPrev = C + t * BU + b * U;
      const float *cCur = C + (t + 1) * BU + b * U;
      for (int j = 0; j < U; j += 4) {
        f4 i = ld(a + j), f = ld(a + U + j), g = ld(a + 2 * U + j), o = ld(a + 3 * U + j);
        f4 tc = tanh4(ld(cCur + j));
        f4 dhj = ld(dh + j);
        f4 one = splat(1.0f);
        f4 dcj = mad(wasm_f32x4_mul(dhj, o), wasm_f32x4_sub(one, wasm_f32x4_mul(tc, tc)), ld(dcb + j));
        f4 dzo = wasm_f32x4_mul(wasm_f32x4_mul(dhj, tc), wasm_f32x4_mul(o, wasm_f32x4_sub(one, o)));
        f4 dzi = wasm_f32x4_mul(wasm_f32x4_mul(dcj, g), wasm_f32x4_mul(i, wasm_f32x4_sub(one, i)));
        f4 dzf = wasm_f32x4_mul(wasm_f32x4_mul(dcj, ld(cPrev + j)), wasm_f32x4_mul(f, wasm_f32x4_sub(one, f)));
        f4 dzg = wasm_f32x4_mul(wasm_f32x4_mul(dcj, i), wasm_f32x4_sub(one, wasm_f32x4_mul(g, g)));
        st(dz + j, dzi); st(dz + U + j, dzf); st(dz + 2 * U + j, dzg); st(dz + 3 * U + j, dzo);
        st(dcb + j, wasm_f32x4_mul(dcj, f));
      }
      // Gradient into h_{t-1} (added to the output gradient of step t-1) and into x_t.
      if (t > 0) rowTimes(G, U, dz, RT, U, dH + (t - 1) * BU + b * U, 1);
      if (dX) rowTimes(G, I, dz, KT, I, dX + (t * B + b) * I, 0);
    }
  }
  // Weight gradients over all T·B rows at once.
  outerAccumulate(T * B, I, G, X, I, dZ, G, dK, G);
  outerAccumulate(T * B, U, G, H, U, dZ, G, dR, G);
  for (int m = 0; m < T * B; m++)
    for (int n = 0; n < G; n += 4) st(db + n, wasm_f32x4_add(ld(db + n), ld(dZ + m * G + n)));
}

// GRU (tfjs-layers / Keras without reset_after): gates z, r, candidate c ("hh"):
//   z = σ(x·K_z + h·R_z + b_z)   r = σ(x·K_r + h·R_r + b_r)
//   hh = tanh(x·K_h + b_h + (r∘h)·R_h)   h' = z∘h + (1 - z)∘hh
// K [I, 3U], R [U, 3U]; A [T, B, 4U] keeps z, r, hh and r∘h per step for the backward pass.
void gru_forward(int T, int B, int I, int U, const float *X, const float *K, const float *R, const float *bias, float *H, float *A) {
  const int G = 3 * U, BU = B * U;
  for (int t = 0; t < T; t++) {
    for (int b = 0; b < B; b++) {
      float *a = A + (t * B + b) * 4 * U;
      const float *hp = H + t * BU + b * U;
      float *hn = H + (t + 1) * BU + b * U;
      for (int n = 0; n < G; n += 4) st(a + n, ld(bias + n));
      rowTimes(I, G, X + (t * B + b) * I, K, G, a, 1);
      rowTimes(U, 2 * U, hp, R, G, a, 1);
      for (int j = 0; j < U; j += 4) {
        f4 z = sigmoid4(ld(a + j)), r = sigmoid4(ld(a + U + j));
        st(a + j, z); st(a + U + j, r);
        st(a + 3 * U + j, wasm_f32x4_mul(r, ld(hp + j)));
      }
      rowTimes(U, U, a + 3 * U, R + 2 * U, G, a + 2 * U, 1);
      for (int j = 0; j < U; j += 4) {
        f4 z = ld(a + j), hh = tanh4(ld(a + 2 * U + j));
        st(a + 2 * U + j, hh);
        st(hn + j, wasm_f32x4_add(wasm_f32x4_mul(z, ld(hp + j)), wasm_f32x4_mul(wasm_f32x4_sub(splat(1.0f), z), hh)));
      }
    }
  }
}

// Backpropagation through time for one GRU layer; arguments as for lstm_backward, with
// KT [3U, I], RT [3U, U], dZ [T, B, 3U] and tmp [U] as scratch.
void gru_backward(int T, int B, int I, int U, const float *X, const float *KT, const float *RT, const float *H, const float *A,
                  float *dH, float *dX, float *dK, float *dR, float *db, float *dZ, float *tmp) {
  const int G = 3 * U, BU = B * U;
  const f4 one = splat(1.0f);
  for (int t = T - 1; t >= 0; t--) {
    for (int b = 0; b < B; b++) {
      const float *a = A + (t * B + b) * 4 * U;
      const float *hp = H + t * BU + b * U;
      float *dh = dH + t * BU + b * U;
      float *dz = dZ + (t * B + b) * G;
      for (int j = 0; j < U; j += 4) {
        f4 z = ld(a + j), hh = ld(a + 2 * U + j), dhj = ld(dh + j);
        f4 dzz = wasm_f32x4_mul(dhj, wasm_f32x4_sub(ld(hp + j), hh));
        f4 dhh = wasm_f32x4_mul(dhj, wasm_f32x4_sub(one, z));
        st(dz + j, wasm_f32x4_mul(dzz, wasm_f32x4_mul(z, wasm_f32x4_sub(one, z))));
        st(dz + 2 * U + j, wasm_f32x4_mul(dhh, wasm_f32x4_sub(one, wasm_f32x4_mul(hh, hh))));
      }
      // Gradient into r∘h, then into r and h_{t-1}.
      rowTimes(U, U, dz + 2 * U, RT + 2 * U * U, U, tmp, 0);
      float *dhp = t > 0 ? dH + (t - 1) * BU + b * U : 0;
      for (int j = 0; j < U; j += 4) {
        f4 r = ld(a + U + j), drh = ld(tmp + j);
        st(dz + U + j, wasm_f32x4_mul(wasm_f32x4_mul(drh, ld(hp + j)), wasm_f32x4_mul(r, wasm_f32x4_sub(one, r))));
        if (dhp) st(dhp + j, wasm_f32x4_add(ld(dhp + j), wasm_f32x4_add(wasm_f32x4_mul(ld(dh + j), ld(a + j)), wasm_f32x4_mul(drh, r))));
      }
      if (dhp) rowTimes(2 * U, U, dz, RT, U, dhp, 1);
      if (dX) rowTimes(G, I, dz, KT, I, dX + (t * B + b) * I, 0);
    }
  }
  outerAccumulate(T * B, I, G, X, I, dZ, G, dK, G);
  outerAccumulate(T * B, U, 2 * U, H, U, dZ, G, dR, G);
  outerAccumulate(T * B, U, U, A + 3 * U, 4 * U, dZ + 2 * U, G, dR + 2 * U, G);
  for (int m = 0; m < T * B; m++)
    for (int n = 0; n < G; n += 4) st(db + n, wasm_f32x4_add(ld(db + n), ld(dZ + m * G + n)));
}

// One time step of stream b through every layer of a stack (desc as for lstm_generate), in place.
static void stackStep(int nLayers, const int *desc, int b, const float *x, float *z) {
  for (int l = 0; l < nLayers; l++) {
    const int *d = desc + 7 * l;
    int I = d[0], U = d[1];
    float *h = (float *)d[5] + b * U;
    float *c = (float *)d[6] + b * U;
    gates(I, U, x, h, (const float *)d[2], (const float *)d[3], (const float *)d[4], z);
    cell(U, z, c, c, h);
    x = h;
  }
}

// Feeds given inputs xs [steps, B] through a stack of LSTM layers (desc as for lstm_generate).
void lstm_feed(int nLayers, const int *desc, int B, const float *xs, int steps, float *z) {
  for (int s = 0; s < steps; s++) {
    for (int b = 0; b < B; b++) stackStep(nLayers, desc, b, xs + s * B + b, z);
  }
}

// Free-running generation for a stack of LSTM layers and a linear head, B streams.
// desc holds 7 ints per layer: I, U, K, R, bias, h [B, U], c [B, U] (pointers as byte offsets).
// Each step: y = head(h_top); out[s·B + b] = y; y is fed back as the next input.
void lstm_generate(int nLayers, const int *desc, int B, const float *headK, float headBias, int steps, float *out, float *z, float *y) {
  const int *top = desc + 7 * (nLayers - 1);
  const int Utop = top[1];
  const float *hTop = (const float *)top[5];
  for (int s = 0; s < steps; s++) {
    for (int b = 0; b < B; b++) {
      f4 acc = splat(0);
      const float *hb = hTop + b * Utop;
      for (int j = 0; j < Utop; j += 4) acc = mad(ld(hb + j), ld(headK + j), acc);
      y[b] = headBias + (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) + (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
      out[s * B + b] = y[b];
    }
    for (int b = 0; b < B; b++) stackStep(nLayers, desc, b, y + b, z);
  }
}

// ---- Categorical (μ-law) models: a softmax head over every step, and sampling generation ----

// Natural log for x > 0 (no libc here): x = m·2^e with m in [√½, √2), log m = 2·atanh(s), s = (m-1)/(m+1),
// |s| < 0.172, series to s^11: relative error below 1e-7.
static float logf_(float x) {
  union { float f; int i; } u = { x };
  int e = ((u.i >> 23) & 255) - 127;
  u.i = (u.i & 0x007fffff) | 0x3f800000; // m in [1, 2)
  float m = u.f;
  if (m > 1.41421356f) { m *= 0.5f; e += 1; }
  float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float p = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 * (1.0f / 11))))));
  return p + (float)e * 0.693147180559945f;
}

// out[0..N) += Σ_k in[k] · W[k·ws + 0..N), 32 columns at a time (8 accumulators per broadcast input:
// half the broadcasts of rowTimes' 16), the rest through rowTimes. Generation runs on column strips instead
// (stripProduct below) except in calls too short to copy the weights; the sums are the same, bit for bit.
static void rowTimesWide(int Kdim, int N, const float *in, const float *W, int ws, float *out) {
  int n = 0;
  for (; n + 32 <= N; n += 32) {
    f4 a0 = ld(out + n), a1 = ld(out + n + 4), a2 = ld(out + n + 8), a3 = ld(out + n + 12);
    f4 a4 = ld(out + n + 16), a5 = ld(out + n + 20), a6 = ld(out + n + 24), a7 = ld(out + n + 28);
    for (int k = 0; k < Kdim; k++) {
      f4 s = splat(in[k]);
      const float *w = W + k * ws + n;
      a0 = mad(s, ld(w), a0); a1 = mad(s, ld(w + 4), a1); a2 = mad(s, ld(w + 8), a2); a3 = mad(s, ld(w + 12), a3);
      a4 = mad(s, ld(w + 16), a4); a5 = mad(s, ld(w + 20), a5); a6 = mad(s, ld(w + 24), a6); a7 = mad(s, ld(w + 28), a7);
    }
    st(out + n, a0); st(out + n + 4, a1); st(out + n + 8, a2); st(out + n + 12, a3);
    st(out + n + 16, a4); st(out + n + 20, a5); st(out + n + 24, a6); st(out + n + 28, a7);
  }
  if (n < N) rowTimes(Kdim, N - n, in, W + n, ws, out + n, 1);
}

// Logits of one row into l[0..V): bias + h·W, W [U, V]. V a multiple of 4.
static void logitsRow(int U, int V, const float *h, const float *W, const float *bias, float *l) {
  for (int n = 0; n < V; n += 4) st(l + n, ld(bias + n));
  rowTimesWide(U, V, h, W, V, l);
}

// Softmax cross-entropy of M rows of hidden states (row m at H + m·hs, U values) through a dense head
// W [U, V], bias [V], against targets tgt[m] in [0, V). Writes P[m] = softmax - onehot (the gradient of
// each row's loss w.r.t. its logits) and returns the summed loss in nats.
float softmax_xent(int M, int U, int V, const float *H, int hs, const int *tgt, const float *W, const float *bias, float *P) {
  float total = 0;
  for (int m = 0; m < M; m++) {
    float *l = P + m * V;
    logitsRow(U, V, H + m * hs, W, bias, l);
    f4 mx = ld(l);
    for (int n = 4; n < V; n += 4) mx = wasm_f32x4_max(mx, ld(l + n));
    float mmax = wasm_f32x4_extract_lane(mx, 0);
    for (int k = 1; k < 4; k++) { float v = k == 1 ? wasm_f32x4_extract_lane(mx, 1) : k == 2 ? wasm_f32x4_extract_lane(mx, 2) : wasm_f32x4_extract_lane(mx, 3); if (v > mmax) mmax = v; }
    int t = tgt[m];
    float lt = l[t] - mmax;
    f4 sm = splat(0), mm = splat(mmax);
    for (int n = 0; n < V; n += 4) { f4 e = exp4(wasm_f32x4_sub(ld(l + n), mm)); st(l + n, e); sm = wasm_f32x4_add(sm, e); }
    float s = (wasm_f32x4_extract_lane(sm, 0) + wasm_f32x4_extract_lane(sm, 1)) + (wasm_f32x4_extract_lane(sm, 2) + wasm_f32x4_extract_lane(sm, 3));
    total += logf_(s) - lt; // -log softmax_t = log Σ e^{l - max} - (l_t - max)
    f4 inv = splat(1.0f / s);
    for (int n = 0; n < V; n += 4) st(l + n, wasm_f32x4_mul(ld(l + n), inv));
    l[t] -= 1.0f;
  }
  return total;
}

// Backward of softmax_xent with the loss scaled by `scale`: P *= scale; dH[m] (row m at dH + m·dhs) = P[m]·Wᵀ
// (WT [V, U]); dW += Hᵀ·P; db += Σ P. dW and db accumulate, so the caller zeroes them.
void softmax_xent_backward(int M, int U, int V, const float *H, int hs, float *P, const float *WT, float scale, float *dH, int dhs, float *dW, float *db) {
  f4 sc = splat(scale);
  for (int m = 0; m < M * V; m += 4) st(P + m, wasm_f32x4_mul(ld(P + m), sc));
  for (int m = 0; m < M; m++) rowTimes(V, U, P + m * V, WT, U, dH + m * dhs, 0);
  outerAccumulate(M, U, V, H, hs, P, V, dW, V);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < V; n += 4) st(db + n, wasm_f32x4_add(ld(db + n), ld(P + m * V + n)));
}

// One GRU step for one row, in place on h; a is scratch of 4U.
static void gruStep(int I, int U, const float *x, float *h, const float *K, const float *R, const float *bias, float *a) {
  const int G = 3 * U;
  for (int n = 0; n < G; n += 4) st(a + n, ld(bias + n));
  rowTimesWide(I, G, x, K, G, a);
  rowTimesWide(U, 2 * U, h, R, G, a);
  for (int j = 0; j < U; j += 4) {
    f4 z = sigmoid4(ld(a + j)), r = sigmoid4(ld(a + U + j));
    st(a + j, z);
    st(a + 3 * U + j, wasm_f32x4_mul(r, ld(h + j)));
  }
  rowTimesWide(U, U, a + 3 * U, R + 2 * U, G, a + 2 * U);
  for (int j = 0; j < U; j += 4) {
    f4 z = ld(a + j), hh = tanh4(ld(a + 2 * U + j));
    st(h + j, wasm_f32x4_add(wasm_f32x4_mul(z, ld(h + j)), wasm_f32x4_mul(wasm_f32x4_sub(splat(1.0f), z), hh)));
  }
}

// ---- Generation with weights copied into column strips ----
// A generation step is a chain of matrix-vector products on one row: every weight is read once per step, from L2
// (344 KB for the default GRU of 128 with 16 inputs and 256 levels), and the step is bound by how fast they arrive.
// Row-major [K, N] read a few columns at a time jumps a whole row between reads; the same weights copied once per
// call into strips (STRIP columns, all K rows of them one after another) are read front to back, which the
// prefetchers keep up with: a 128 x 256 product took 2.0 instead of 2.7 ns per row of 32 columns, and with the
// cheaper exp4 a sampling step of the default model about 9 instead of 13.5 µs (bench/categorical-speed.ts, on a
// 2-core AMD EPYC). Each output column is still bias + Σ_k in[k]·W[k] added in k order, so the results are bit for
// bit those of the row-major kernels.
//
// Strips of 24 columns: six accumulators hide the latency of the adds (without an FMA in wasm SIMD each multiply-add
// is two dependent ops), while six accumulators, six loaded vectors and the broadcast input still fit the 15 SIMD
// registers V8 allocates on x64 (with eight accumulators it spilled). The last strip of a matrix is 16, 8 or 4 wide.
#define STRIP 24
static inline int stripWidth(int left) { return left >= STRIP ? STRIP : left >= 16 ? 16 : left >= 8 ? 8 : 4; }

// The strip buffer lives in the module's own memory (below __heap_base), so the exported signatures and the
// caller's allocator stay as they are; instances that never generate never touch its pages. 4 MiB holds a GRU of
// 256 or an LSTM of 256 with a 256-level head, or a spectral model of 128 units with four components over 513
// bins (2 MiB did not: its generation ran on the row-major kernels at about half the speed); a larger stack runs
// on the row-major kernels.
#define PACK_FLOATS (1 << 20)
static float packBuf[PACK_FLOATS] __attribute__((aligned(64)));
// Copying costs about as much as a few steps (it reads and writes every weight once): below this many rows
// (steps × streams) a call runs on the row-major kernels.
#define PACK_MIN_ROWS 16

// Hides a pointer's increment from LLVM's loop strength reduction, which would otherwise move the base to the
// strip's last vector and address the others at negative offsets: wasm loads take only positive immediate offsets,
// so V8 would add one address computation per load.
#define OPAQUE(p) __asm__("" : "+r"(p))

// Copies columns [0, N) of A [K1 rows, stride lda] and then of Bm [K2 rows, stride ldb] into strips at dst; returns
// the end (dst + N·(K1 + K2)).
static float *packStrips(int N, int K1, const float *A, int lda, int K2, const float *Bm, int ldb, float *dst) {
  for (int n = 0; n < N;) {
    int w = stripWidth(N - n);
    for (int k = 0; k < K1; k++, dst += w)
      for (int j = 0; j < w; j += 4) st(dst + j, ld(A + k * lda + n + j));
    for (int k = 0; k < K2; k++, dst += w)
      for (int j = 0; j < w; j += 4) st(dst + j, ld(Bm + k * ldb + n + j));
    n += w;
  }
  return dst;
}

// One strip of W columns: out = init + Σ in1[k]·P[k] (K1 rows) + Σ in2[k]·P[K1 + k] (K2 rows). Inlined with W a
// constant, the accumulators become locals.
static inline __attribute__((always_inline)) void stripRows(int W, int K1, const float *in1, int K2, const float *in2, const float *p,
                                                            const float *init, float *out) {
  f4 a[STRIP / 4];
  for (int j = 0; j < W / 4; j++) a[j] = ld(init + 4 * j);
  for (int k = 0; k < K1; k++) {
    f4 s = wasm_v128_load32_splat(in1 + k);
    for (int j = 0; j < W / 4; j++) a[j] = mad(s, ld(p + 4 * j), a[j]);
    p += W;
    OPAQUE(p);
  }
  for (int k = 0; k < K2; k++) {
    f4 s = wasm_v128_load32_splat(in2 + k);
    for (int j = 0; j < W / 4; j++) a[j] = mad(s, ld(p + 4 * j), a[j]);
    p += W;
    OPAQUE(p);
  }
  for (int j = 0; j < W / 4; j++) st(out + 4 * j, a[j]);
}

// out[0..N) = init[0..N) + in1·A + in2·B over strips P from packStrips (out may be init).
static void stripProduct(int N, int K1, const float *in1, int K2, const float *in2, const float *P, const float *init, float *out) {
  for (int n = 0; n < N;) {
    int w = stripWidth(N - n);
    if (w == STRIP) stripRows(STRIP, K1, in1, K2, in2, P, init + n, out + n);
    else if (w == 16) stripRows(16, K1, in1, K2, in2, P, init + n, out + n);
    else if (w == 8) stripRows(8, K1, in1, K2, in2, P, init + n, out + n);
    else stripRows(4, K1, in1, K2, in2, P, init + n, out + n);
    P += (K1 + K2) * w;
    n += w;
  }
}

// Floats the strips of a stack (and of a head of V levels when V > 0) take.
static long long packedSize(int nLayers, const int *desc, int gru, int V) {
  long long n = 0;
  for (int l = 0; l < nLayers; l++) n += (long long)(desc[7 * l] + desc[7 * l + 1]) * (gru ? 3 : 4) * desc[7 * l + 1];
  if (V > 0) n += (long long)desc[7 * (nLayers - 1) + 1] * V;
  return n;
}

// Copies a stack's kernels into packBuf, layer by layer: a GRU as z|r columns of K over R, then the candidate's
// columns of K, then of R (its product waits for r); an LSTM as all gate columns of K over R. Returns the end.
// Set by spec_pack while packBuf holds a spectral stack and head; anything that packs again clears it.
static int specPacked = 0;

static float *packStack(int nLayers, const int *desc, int gru) {
  specPacked = 0;
  float *p = packBuf;
  for (int l = 0; l < nLayers; l++) {
    const int *d = desc + 7 * l;
    int I = d[0], U = d[1];
    const float *K = (const float *)d[2], *R = (const float *)d[3];
    if (gru) {
      p = packStrips(2 * U, I, K, 3 * U, U, R, 3 * U, p);
      p = packStrips(U, I, K + 2 * U, 3 * U, 0, 0, 0, p);
      p = packStrips(U, U, R + 2 * U, 3 * U, 0, 0, 0, p);
    } else {
      p = packStrips(4 * U, I, K, 4 * U, U, R, 4 * U, p);
    }
  }
  return p;
}

// cellStackStep on strips from packStack: the same arithmetic in the same order.
static void stripStackStep(int nLayers, const int *desc, int gru, int b, const float *x, float *z) {
  const float *P = packBuf;
  for (int l = 0; l < nLayers; l++) {
    const int *d = desc + 7 * l;
    int I = d[0], U = d[1];
    const float *bias = (const float *)d[4];
    float *h = (float *)d[5] + b * U;
    if (gru) {
      // z and r: bias + x·K + h·R; the candidate: bias + x·K now, + (r∘h)·R once r is known.
      stripProduct(2 * U, I, x, U, h, P, bias, z);
      P += (I + U) * 2 * U;
      stripProduct(U, I, x, 0, 0, P, bias + 2 * U, z + 2 * U);
      P += I * U;
      for (int j = 0; j < U; j += 4) {
        f4 zg = sigmoid4(ld(z + j)), r = sigmoid4(ld(z + U + j));
        st(z + j, zg);
        st(z + 3 * U + j, wasm_f32x4_mul(r, ld(h + j)));
      }
      stripProduct(U, U, z + 3 * U, 0, 0, P, z + 2 * U, z + 2 * U);
      P += U * U;
      for (int j = 0; j < U; j += 4) {
        f4 zg = ld(z + j), hh = tanh4(ld(z + 2 * U + j));
        st(h + j, wasm_f32x4_add(wasm_f32x4_mul(zg, ld(h + j)), wasm_f32x4_mul(wasm_f32x4_sub(splat(1.0f), zg), hh)));
      }
    } else {
      float *c = (float *)d[6] + b * U;
      stripProduct(4 * U, I, x, U, h, P, bias, z);
      P += (I + U) * 4 * U;
      cell(U, z, c, c, h);
    }
    x = h;
  }
}

// One time step of stream b through a stack of LSTM (gru = 0) or GRU (gru = 1) layers; desc as for lstm_generate.
static void cellStackStep(int nLayers, const int *desc, int gru, int b, const float *x, float *z) {
  for (int l = 0; l < nLayers; l++) {
    const int *d = desc + 7 * l;
    int I = d[0], U = d[1];
    float *h = (float *)d[5] + b * U;
    if (gru) gruStep(I, U, x, h, (const float *)d[2], (const float *)d[3], (const float *)d[4], z);
    else {
      float *c = (float *)d[6] + b * U;
      gates(I, U, x, h, (const float *)d[2], (const float *)d[3], (const float *)d[4], z);
      cell(U, z, c, c, h);
    }
    x = h;
  }
}

// Feeds inputs xs [steps, B, I] through a stack of LSTM or GRU layers.
void stack_feed(int nLayers, const int *desc, int gru, int B, int I, const float *xs, int steps, float *z) {
  if ((long long)steps * B >= PACK_MIN_ROWS && packedSize(nLayers, desc, gru, 0) <= PACK_FLOATS) {
    packStack(nLayers, desc, gru);
    for (int s = 0; s < steps; s++)
      for (int b = 0; b < B; b++) stripStackStep(nLayers, desc, gru, b, xs + (s * B + b) * I, z);
    return;
  }
  for (int s = 0; s < steps; s++)
    for (int b = 0; b < B; b++) cellStackStep(nLayers, desc, gru, b, xs + (s * B + b) * I, z);
}

// mulberry32: a 32-bit state, one add and a few multiplies per draw; the state is the caller's, so a
// packed generation state carries it and a continuation draws the same numbers as an unbroken run.
static unsigned int nextRandom(unsigned int *state) {
  unsigned int t = (*state += 0x6D2B79F5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

// Draws one level from logits l[0..V) (overwritten) at inverse temperature invTemp > 0 with the cut (see
// cat_generate), using the stream's RNG.
static int sampleLevel(int V, float *l, float invTemp, float cut, float lnCutBelow, unsigned int *rng) {
  // The largest logit as the scalar `if (l[n] > max) max = l[n]` from max = l[0] found it: pmax(a, b) is a < b ? b : a,
  // so a NaN is passed over unless l[0] is one. (Equal maxima of either sign give the same weights below.)
  f4 mx = splat(l[0]);
  for (int n = 0; n < V; n += 4) mx = wasm_f32x4_pmax(mx, ld(l + n));
  float mmax = wasm_f32x4_extract_lane(mx, 0);
  if (wasm_f32x4_extract_lane(mx, 1) > mmax) mmax = wasm_f32x4_extract_lane(mx, 1);
  if (wasm_f32x4_extract_lane(mx, 2) > mmax) mmax = wasm_f32x4_extract_lane(mx, 2);
  if (wasm_f32x4_extract_lane(mx, 3) > mmax) mmax = wasm_f32x4_extract_lane(mx, 3);
  f4 sm = splat(0), mm = splat(mmax), it = splat(invTemp), ct = splat(cut), below = splat(lnCutBelow);
  for (int n = 0; n < V; n += 4) {
    f4 t = wasm_f32x4_mul(wasm_f32x4_sub(ld(l + n), mm), it); // log of the level's weight; the most likely level's is 0
    // Four levels certainly under the cut (lnCutBelow is below log(cut) by far more than exp4's error) are
    // zero without an exp; the others are computed and cut exactly as before.
    if (!wasm_v128_any_true(wasm_f32x4_ge(t, below))) {
      st(l + n, splat(0));
      continue;
    }
    f4 e = exp4(t);
    e = wasm_v128_and(e, wasm_f32x4_ge(e, ct));
    st(l + n, e);
    sm = wasm_f32x4_add(sm, e); // a skipped group would add +0: the total is the same
  }
  float total = (wasm_f32x4_extract_lane(sm, 0) + wasm_f32x4_extract_lane(sm, 1)) + (wasm_f32x4_extract_lane(sm, 2) + wasm_f32x4_extract_lane(sm, 3));
  float u = (float)(nextRandom(rng) >> 8) * (1.0f / 16777216.0f) * total;
  // The running sum in level order; four cut levels at a time are skipped (adding +0 changes nothing).
  float acc = 0;
  for (int n = 0; n < V; n += 4) {
    if (!wasm_v128_any_true(ld(l + n))) continue;
    for (int j = n; j < n + 4; j++) {
      acc += l[j];
      if (u < acc) return j;
    }
  }
  // u can land in the rounding gap between the lane-wise total and this running sum: take the
  // last level that may be drawn, never one the cut removed.
  for (int n = V - 1; n >= 0; n--) if (l[n] > 0) return n;
  return -1;
}

// Steps of a categorical sample RNN for B streams (cat_generate and cat_follow): each step the stack reads each
// stream's input row x[b·I .. b·I+I) (its last I inputs, oldest first); when `out` is given, the logits of the top
// layer's h (head W [U, V], bias [V]) give one level per stream, drawn as cat_generate says and written to
// out[s·B + b]; then the row shifts left by one to take the next input: truth[s·B + b] when `truth` is given, else
// the drawn level's input level·inScale + inOffset. l: scratch [V].
static void catSteps(int nLayers, const int *desc, int gru, int B, int I, const float *W, const float *bias, int V, float invTemp, float cut,
                     float inScale, float inOffset, const float *truth, int steps, unsigned int *rng, float *x, int *out, float *z, float *l) {
  const int *top = desc + 7 * (nLayers - 1);
  const int Utop = top[1];
  const float *hTop = (const float *)top[5];
  // Weights of log(weight) below this are under the cut whatever exp4's rounding; none when the cut is 0 or so
  // small that exp4's clamp at e^-87 could keep them.
  const float lnCutBelow = cut > 1e-30f ? logf_(cut) - 0.01f : -__builtin_inff();
  const float *headStrips = 0;
  int strips = 0;
  if ((long long)steps * B >= PACK_MIN_ROWS && packedSize(nLayers, desc, gru, out ? V : 0) <= PACK_FLOATS) {
    float *p = packStack(nLayers, desc, gru);
    if (out) {
      packStrips(V, Utop, W, V, 0, 0, 0, p);
      headStrips = p;
    }
    strips = 1;
  }
  for (int s = 0; s < steps; s++) {
    for (int b = 0; b < B; b++) {
      float *xb = x + b * I;
      if (strips) stripStackStep(nLayers, desc, gru, b, xb, z);
      else cellStackStep(nLayers, desc, gru, b, xb, z);
      int pick = 0;
      if (out) {
        if (headStrips) stripProduct(V, Utop, hTop + b * Utop, 0, 0, headStrips, bias, l);
        else logitsRow(Utop, V, hTop + b * Utop, W, bias, l);
        if (invTemp <= 0) {
          for (int n = 1; n < V; n++) if (l[n] > l[pick]) pick = n;
        } else {
          pick = sampleLevel(V, l, invTemp, cut, lnCutBelow, rng + b);
        }
        out[s * B + b] = pick;
      }
      for (int k = 0; k + 1 < I; k++) xb[k] = xb[k + 1];
      xb[I - 1] = truth ? truth[s * B + b] : (float)pick * inScale + inOffset;
    }
  }
}

// Free-running sampling from a categorical head, B streams: each step the stack reads each stream's input
// row x[b·I .. b·I+I) (its last I inputs, oldest first), the logits of the top layer's h (head W [U, V],
// bias [V]) are divided by the temperature (invTemp = 1/T; 0 picks the most likely level), one level is
// drawn per stream with its RNG (rng[b]) and written to out[s·B + b], and the row shifts left by one to
// take the level's input level·inScale + inOffset. Levels less likely than `cut` times the most likely
// one are never drawn (LPCNet's remedy for the noise floor that sampling the far tails adds; 0 = off).
// l: scratch [V].
void cat_generate(int nLayers, const int *desc, int gru, int B, int I, const float *W, const float *bias, int V, float invTemp, float cut,
                  float inScale, float inOffset, int steps, unsigned int *rng, float *x, int *out, float *z, float *l) {
  catSteps(nLayers, desc, gru, B, I, W, bias, V, invTemp, cut, inScale, inOffset, 0, steps, rng, x, out, z, l);
}

// Teacher forcing for live input, B streams: as cat_generate, but each row takes the true next input
// truth[s·B + b] [steps, B] rather than the drawn level's; the draws (each step's one-step prediction, made
// before the true input is seen) go to out[s·B + b], or are not made when out is 0 (the RNG does not advance).
void cat_follow(int nLayers, const int *desc, int gru, int B, int I, const float *W, const float *bias, int V, float invTemp, float cut,
                const float *truth, int steps, unsigned int *rng, float *x, int *out, float *z, float *l) {
  catSteps(nLayers, desc, gru, B, I, W, bias, V, invTemp, cut, 0, 0, truth, steps, rng, x, out, z, l);
}

// ---- The spectral family's sampling step ----
// scalar e^x through exp4's polynomial (lane 0)
static inline float expf_(float x) { return wasm_f32x4_extract_lane(exp4(splat(x)), 0); }

// mulberry32's next uniform in (0, 1), advancing *s.
static inline float uniform01(unsigned int *s) { return ((float)(nextRandom(s) >> 8) + 0.5f) * (1.0f / 16777216.0f); }

// A standard normal draw by Marsaglia's polar method (log and sqrt only; the draws a rejection costs
// are part of the RNG's state, so a run continued from the state draws the same).
static float gaussian(unsigned int *s) {
  for (;;) {
    float u = 2.0f * uniform01(s) - 1.0f, v = 2.0f * uniform01(s) - 1.0f;
    float q = u * u + v * v;
    if (q > 0.0f && q < 1.0f) return u * __builtin_sqrtf(-2.0f * logf_(q) / q);
  }
}

// ---- Spectral (mixture of per-bin Gaussians) models' loss ----

// log(x) for 4 lanes, x > 0 and normal: logf_'s series, lane by lane.
static inline f4 log4(f4 x) {
  v128_t i = x;
  v128_t e = wasm_i32x4_sub(wasm_v128_and(wasm_u32x4_shr(i, 23), wasm_i32x4_splat(255)), wasm_i32x4_splat(127));
  f4 m = wasm_v128_or(wasm_v128_and(i, wasm_i32x4_splat(0x007fffff)), wasm_i32x4_splat(0x3f800000)); // m in [1, 2)
  v128_t big = wasm_f32x4_gt(m, splat(1.41421356f));
  m = wasm_v128_bitselect(wasm_f32x4_mul(m, splat(0.5f)), m, big);
  e = wasm_i32x4_sub(e, big); // big is -1 where set
  f4 s = wasm_f32x4_div(wasm_f32x4_sub(m, splat(1.0f)), wasm_f32x4_add(m, splat(1.0f))), s2 = wasm_f32x4_mul(s, s);
  f4 p = splat(1.0f / 11);
  p = mad(p, s2, splat(1.0f / 9));
  p = mad(p, s2, splat(1.0f / 7));
  p = mad(p, s2, splat(1.0f / 5));
  p = mad(p, s2, splat(1.0f / 3));
  p = mad(p, s2, splat(1.0f));
  return mad(wasm_f32x4_convert_i32x4(e), splat(0.693147180559945f), wasm_f32x4_mul(splat(2.0f), wasm_f32x4_mul(s, p)));
}

static inline float hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// One component's bins [from, from + 4): each bin's -log N(y; μ, σ) less ½ln2π summed into *acc, and into the
// gradient slots gm (of the mean) and gr (of the raw log-deviation) the per-bin factors -z/σ and
// (1 - z²)·sigmoid(t), which mix_nll scales by the component's responsibility. σ = e^lsMin·(1 + e^t),
// t = raw - lsMin (objective.ts's logSigma: lsMin + softplus(t)).
static inline void mixBins4(const float *mu, const float *raw, const float *y, float *gm, float *gr, f4 lm, f4 sMinInv, f4 *acc) {
  f4 t = wasm_f32x4_sub(ld(raw), lm);
  f4 et = exp4(t), one = splat(1.0f), onePlus = wasm_f32x4_add(one, et);
  // softplus(t): log(1 + e^t), or t itself past 30 (where 1 + e^t rounds to e^t and exp4 saturates past 88).
  f4 sp = wasm_v128_bitselect(t, log4(onePlus), wasm_f32x4_gt(t, splat(30.0f)));
  f4 inv = wasm_f32x4_div(sMinInv, onePlus);
  f4 z = wasm_f32x4_mul(wasm_f32x4_sub(ld(y), ld(mu)), inv);
  *acc = wasm_f32x4_add(*acc, wasm_f32x4_add(wasm_f32x4_mul(splat(0.5f), wasm_f32x4_mul(z, z)), sp));
  wasm_v128_store(gm, wasm_f32x4_neg(wasm_f32x4_mul(z, inv)));
  wasm_v128_store(gr, wasm_f32x4_mul(wasm_f32x4_sub(one, wasm_f32x4_mul(z, z)), wasm_f32x4_div(et, onePlus)));
}

// The spectral family's loss over N frames: frame n's target y[n·F ..] (F features) under a mixture of K
// per-bin Gaussians whose parameters are out[n·V ..], V = K·(2F+1) (model.ts's headUnits layout: K·F means,
// K·F raw log-deviations, K logits). A frame's NLL is -log Σ_k π_k Π_j N(y_j; μ_kj, σ_kj), π = softmax(logits).
// Writes d(scale·Σ NLL)/d(out) to grad (out's layout; rows of V) and returns Σ NLL in nats (NaN when an output
// or target is NaN or infinite). Unaligned loads:
// component k's bins start at k·F. tmp: K floats. Written in C rather than JavaScript's loops: those cost
// 114 ms of a 307 ms training step at K = 4 (16 windows of 32 frames of 513 bins), this about a tenth of it.
double mix_nll(int N, int F, int K, const float *out, const float *y, float lsMin, float scale, float *grad, float *tmp) {
  const int V = K * (2 * F + 1), F4 = F & ~3;
  const float sMinInv = 1.0f / expf_(lsMin);
  const f4 lm = splat(lsMin), si = splat(sMinInv);
  const double halfLog2Pi = 0.91893853320467274;
  double total = 0;
  float lane[4], gmT[4], grT[4];
  for (int n = 0; n < N; n++) {
    const float *o = out + n * V, *yr = y + n * F;
    float *g = grad + n * V;
    for (int k = 0; k < K; k++) {
      f4 acc = splat(0.0f);
      for (int j = 0; j < F4; j += 4) mixBins4(o + k * F + j, o + K * F + k * F + j, yr + j, g + k * F + j, g + K * F + k * F + j, lm, si, &acc);
      float sum = hsum(acc);
      if (F4 < F) {
        // The last F % 4 bins through the same lanes (padding lanes read a bin already done, and are dropped).
        float m4[4], r4[4], y4[4];
        for (int q = 0; q < 4; q++) {
          int j = F4 + q < F ? F4 + q : F - 1;
          m4[q] = o[k * F + j]; r4[q] = o[K * F + k * F + j]; y4[q] = yr[j];
        }
        f4 a = splat(0.0f);
        mixBins4(m4, r4, y4, gmT, grT, lm, si, &a);
        st(lane, a);
        for (int q = 0; F4 + q < F; q++) {
          sum += lane[q];
          g[k * F + F4 + q] = gmT[q];
          g[K * F + k * F + F4 + q] = grT[q];
        }
      }
      // nll_k = F·(½ln2π + lsMin) + Σ_j (½z² + softplus(t_j))
      tmp[k] = (float)(F * (halfLog2Pi + lsMin)) + sum;
    }
    // log π_k = logit_k - logsumexp(logits); the frame's NLL = -logsumexp_k(log π_k - nll_k); r_k its responsibilities.
    const float *lg = o + 2 * K * F;
    float lmax = lg[0];
    for (int k = 1; k < K; k++) if (lg[k] > lmax) lmax = lg[k];
    float lsum = 0;
    for (int k = 0; k < K; k++) lsum += expf_(lg[k] - lmax);
    const float logZ = lmax + logf_(lsum);
    float amax = -3.0e38f;
    int finite = lsum - lsum == 0.0f;
    for (int k = 0; k < K; k++) {
      tmp[k] = lg[k] - logZ - tmp[k];
      finite &= tmp[k] - tmp[k] == 0.0f; // false for NaN and ±Inf
      if (tmp[k] > amax) amax = tmp[k];
    }
    // A NaN or infinite output (a diverged net) makes the loss NaN, so that the trainer rolls back: logf_ reads
    // bits and would turn NaN into a finite number, and the comparisons above skip NaN.
    if (!finite) return __builtin_nan("");
    float asum = 0;
    for (int k = 0; k < K; k++) asum += expf_(tmp[k] - amax);
    total += -((double)amax + (double)logf_(asum));
    for (int k = 0; k < K; k++) {
      const float r = expf_(tmp[k] - amax) / asum, w = r * scale;
      const f4 wv = splat(w);
      float *gm = g + k * F, *gr = g + K * F + k * F;
      for (int j = 0; j < F4; j += 4) {
        wasm_v128_store(gm + j, wasm_f32x4_mul(wasm_v128_load(gm + j), wv));
        wasm_v128_store(gr + j, wasm_f32x4_mul(wasm_v128_load(gr + j), wv));
      }
      for (int j = F4; j < F; j++) { gm[j] *= w; gr[j] *= w; }
      g[2 * K * F + k] = (expf_(lg[k] - logZ) - r) * scale;
    }
  }
  return total;
}

// The spectral family's generation: one frame per call for B rows. Each row's input frame X[b·F ..] (F features)
// is projected to E values (e = Eb + x·Ek, Ek [F, E]), which step the stack. The head's K mixture logits
// (bl[k] + h·Wl[:, k], Wl [U, K]) pick a component with the row's RNG (p_k ∝ e^{logit/temp}; temp 0: the
// likeliest); that component's head gives each bin j a Gaussian over its next log-magnitude feature: mean
// bmu[k][j] + h·Wmu[k][:, j], log standard deviation lsMin + softplus(bs[k][j] + h·Ws[k][:, j] - lsMin). The
// draw v = mean + temp·σ·z (temp 0: the mean), clamped to [lo, hi], replaces the row's input (the next
// frame's) and its magnitude exp(v·gain - offset)·magScale goes to M[b·F + j]. Wmu and Ws are [K][U][Fp],
// bmu and bs [K][Fp], Fp = F rounded up to 4 (zero columns beyond F); E is a multiple of 4; scratch holds
// 2·Fp + E + K floats. After spec_pack (weights in strips) the products read the strips instead.

// Copies the stack, every component's head and the embedding into packBuf's strips; returns 0 (and the
// frames run on the row-major kernels) when they do not fit. Call again after anything else packs.
int spec_pack(int nLayers, const int *desc, int gru, int F, int Fp, int E, int K, const float *Ek, const float *Wmu, const float *Ws) {
  const int U = desc[7 * (nLayers - 1) + 1];
  specPacked = 0;
  if (packedSize(nLayers, desc, gru, 2 * K * Fp) + (long long)F * E > PACK_FLOATS) return 0;
  float *p = packStack(nLayers, desc, gru);
  for (int k = 0; k < K; k++) {
    p = packStrips(Fp, U, Wmu + k * U * Fp, Fp, 0, 0, 0, p);
    p = packStrips(Fp, U, Ws + k * U * Fp, Fp, 0, 0, 0, p);
  }
  packStrips(E, F, Ek, E, 0, 0, 0, p);
  specPacked = 1;
  return 1;
}

// Row b's draw from the head over its top-layer h (see spec_frame): the component, then every bin's feature,
// written to x[0..F), and their magnitudes to m[0..F). headStrips: the head's strips after spec_pack, or 0.
#define SPEC_MIN_SHARE 0.002f

static void specDraw(int U, int F, int Fp, int K, const float *h, const float *headStrips, const float *Wmu, const float *bmu,
                     const float *Ws, const float *bs, const float *Wl, const float *bl, float temp, float lsMin, float lo, float hi,
                     float gain, float offset, float magScale, unsigned int *rng, float *x, float *m, float *mu, float *raw, float *l) {
  // The component: the likeliest at temp 0, else drawn from softmax(logit / temp).
  int pick = 0;
  float lmax = -3.0e38f;
  for (int k = 0; k < K; k++) {
    float v = bl[k];
    for (int u = 0; u < U; u++) v += h[u] * Wl[u * K + k];
    l[k] = v;
    if (v > lmax) { lmax = v; pick = k; }
  }
  if (temp > 0.0f && K > 1) {
    // Components less likely than SPEC_MIN_SHARE of the likeliest are not drawn (as the categorical family's
    // levels below its cut): a component that training left with next to no weight has parameters nothing
    // fitted, and one draw of it, once in a few hundred frames, burst across every bin (a steady bowed tone's
    // continuation jumped to 1.35 × the source's RMS for three frames).
    float sum = 0.0f;
    int last = pick;
    for (int k = 0; k < K; k++) {
      float p = expf_((l[k] - lmax) / temp);
      l[k] = p < SPEC_MIN_SHARE ? 0.0f : p;
      if (l[k] > 0.0f) last = k;
      sum += l[k];
    }
    float u = uniform01(rng) * sum;
    pick = last; // where rounding leaves u past the sum
    for (int k = 0; k < K; k++) {
      if (u < l[k]) { pick = k; break; }
      u -= l[k];
    }
  }
  if (headStrips) {
    stripProduct(Fp, U, h, 0, 0, headStrips + 2 * pick * U * Fp, bmu + pick * Fp, mu);
    stripProduct(Fp, U, h, 0, 0, headStrips + (2 * pick + 1) * U * Fp, bs + pick * Fp, raw);
  } else {
    for (int n = 0; n < Fp; n += 4) { st(mu + n, ld(bmu + pick * Fp + n)); st(raw + n, ld(bs + pick * Fp + n)); }
    rowTimesWide(U, Fp, h, Wmu + pick * U * Fp, Fp, mu);
    rowTimesWide(U, Fp, h, Ws + pick * U * Fp, Fp, raw);
  }
  // σ = exp(lsMin + softplus(t)) = e^lsMin·(1 + e^t), t = raw - lsMin: one exp, four bins at a time.
  if (temp > 0.0f) {
    const f4 sMin = splat(expf_(lsMin)), one = splat(1.0f), lm = splat(lsMin), tt = splat(temp);
    for (int n = 0; n < Fp; n += 4) st(raw + n, wasm_f32x4_mul(tt, wasm_f32x4_mul(sMin, wasm_f32x4_add(one, exp4(wasm_f32x4_sub(ld(raw + n), lm))))));
    for (int k = 0; k < F; k++) {
      float v = mu[k] + raw[k] * gaussian(rng);
      mu[k] = v < lo ? lo : v > hi ? hi : v;
    }
  } else {
    for (int k = 0; k < F; k++) mu[k] = mu[k] < lo ? lo : mu[k] > hi ? hi : mu[k];
  }
  // The draws are the next input; their magnitudes exp(v·gain - offset)·magScale, four at a time (mu's
  // padding past F is computed and not copied).
  const f4 g = splat(gain), o = splat(offset), ms = splat(magScale);
  for (int n = 0; n < Fp; n += 4) st(raw + n, wasm_f32x4_mul(ms, exp4(wasm_f32x4_sub(wasm_f32x4_mul(ld(mu + n), g), o))));
  for (int k = 0; k < F; k++) { x[k] = mu[k]; m[k] = raw[k]; }
}

void spec_frame(int nLayers, const int *desc, int gru, int B, int F, int Fp, int E, int K, float *X, float *z,
                const float *Ek, const float *Eb, const float *Wmu, const float *bmu, const float *Ws, const float *bs,
                const float *Wl, const float *bl,
                float temp, float lsMin, float lo, float hi, float gain, float offset, float magScale,
                unsigned int *rng, float *M, float *scratch) {
  const int U = desc[7 * (nLayers - 1) + 1];
  const float *hTop = (const float *)desc[7 * (nLayers - 1) + 5];
  const float *headStrips = specPacked ? packBuf + packedSize(nLayers, desc, gru, 0) : 0;
  float *mu = scratch, *raw = scratch + Fp, *e = scratch + 2 * Fp, *l = scratch + 2 * Fp + E;
  for (int b = 0; b < B; b++) {
    float *x = X + b * F;
    if (headStrips) {
      stripProduct(E, F, x, 0, 0, headStrips + 2 * K * U * Fp, Eb, e);
      stripStackStep(nLayers, desc, gru, b, e, z);
    } else {
      for (int n = 0; n < E; n += 4) st(e + n, ld(Eb + n));
      rowTimesWide(F, E, x, Ek, E, e);
      cellStackStep(nLayers, desc, gru, b, e, z);
    }
    specDraw(U, F, Fp, K, hTop + b * U, headStrips, Wmu, bmu, Ws, bs, Wl, bl, temp, lsMin, lo, hi, gain, offset, magScale, rng + b, x, M + b * F, mu, raw, l);
  }
}

// The draw of spec_frame without the step: each row's next frame from the stack's current top h (a step fed
// elsewhere, e.g. stack_feed on a true frame), into X [B, F] and M [B, F]; the rows' inputs are not touched.
// Live input's one-step predictions. Arguments as for spec_frame.
void spec_draw(int nLayers, const int *desc, int gru, int B, int F, int Fp, int E, int K,
               const float *Wmu, const float *bmu, const float *Ws, const float *bs, const float *Wl, const float *bl,
               float temp, float lsMin, float lo, float hi, float gain, float offset, float magScale,
               unsigned int *rng, float *X, float *M, float *scratch) {
  const int U = desc[7 * (nLayers - 1) + 1];
  const float *hTop = (const float *)desc[7 * (nLayers - 1) + 5];
  const float *headStrips = specPacked ? packBuf + packedSize(nLayers, desc, gru, 0) : 0;
  float *mu = scratch, *raw = scratch + Fp, *l = scratch + 2 * Fp + E;
  for (int b = 0; b < B; b++)
    specDraw(U, F, Fp, K, hTop + b * U, headStrips, Wmu, bmu, Ws, bs, Wl, bl, temp, lsMin, lo, hi, gain, offset, magScale, rng + b, X + b * F, M + b * F, mu, raw, l);
}
