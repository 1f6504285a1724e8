// Plain loops (compiled -O3, vectorised by the compiler) for the memory-bound training work that dominated the step
// once convs ran on oneDNN: broadcasting float32 Add / Sub / Multiply, Sum over a middle block of axes (BatchNorm
// statistics and gradients over N·H·W of NHWC), FusedBatchNorm's forward, and MaxPoolGrad. In place on the caller's
// memory like the oneDNN kernels. Every result is independent of the OpenMP thread count: element-wise work is
// split by element, reductions by fixed-size row chunks summed in chunk order, MaxPoolGrad by image.
#include <omp.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"

namespace csn {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
// Elements per task of the element-wise loops.
constexpr int64_t kChunk = 1 << 14;
// Rows (of `post` values) per partial sum of a reduction: a multiple of 8, fixed so results don't depend on threads.
constexpr int64_t kRowsPerChunk = 256;

// kReluGrad: a · step(b) (ReLU's gradient: dy · (x > 0 ? 1 : x ≤ 0 ? 0 : NaN)).
enum Op { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kReluGrad = 4 };
// How an operand maps onto the [outer, inner] output: full, one row repeated over outer, one value per outer row, one value.
enum Mode { kFull = 0, kRow = 1, kColumn = 2, kScalar = 3 };

template <int O, bool SA, bool SB>
inline void binaryRun(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t len) {
  for (int64_t i = 0; i < len; i++) {
    const float x = a[SA ? i : 0];
    const float z = b[SB ? i : 0];
    y[i] = O == kAdd ? x + z : O == kSub ? x - z : O == kMul ? x * z : O == kDiv ? x / z : x * (z > 0.0f ? 1.0f : (z <= 0.0f ? 0.0f : z));
  }
}

template <int O>
inline void binaryDispatch(const float* a, bool sa, const float* b, bool sb, float* y, int64_t len) {
  if (sa && sb) binaryRun<O, true, true>(a, b, y, len);
  else if (sa) binaryRun<O, true, false>(a, b, y, len);
  else if (sb) binaryRun<O, false, true>(a, b, y, len);
  else binaryRun<O, false, false>(a, b, y, len);
}

size_t operandElems(int mode, int64_t outer, int64_t inner) {
  switch (mode) {
    case kFull: return static_cast<size_t>(outer * inner);
    case kRow: return static_cast<size_t>(inner);
    case kColumn: return static_cast<size_t>(outer);
    default: return 1;
  }
}

// The operand's run for output row o starting at column j: pointer and whether it advances with j.
inline const float* operandAt(const float* p, int mode, int64_t o, int64_t j, int64_t inner, bool& strided) {
  switch (mode) {
    case kFull: strided = true; return p + o * inner + j;
    case kRow: strided = true; return p + j;
    case kColumn: strided = false; return p + o;
    default: strided = false; return p;
  }
}

}  // namespace

// binary(heap, desc [op, outer, inner, modeA, modeB], aOffset, bOffset, yOffset); op: add, sub, mul, div, reluGrad.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 5) throw Napi::TypeError::New(env, "binary descriptor must hold 5 integers");
  const int op = desc[0];
  const int64_t outer = desc[1], inner = desc[2];
  const int ma = desc[3], mb = desc[4];
  if (op < 0 || op > 4 || ma < 0 || ma > 3 || mb < 0 || mb > 3 || outer < 1 || inner < 1) throw Napi::RangeError::New(env, "bad binary descriptor");
  const float* a = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], operandElems(ma, outer, inner) * 4));
  const float* b = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], operandElems(mb, outer, inner) * 4));
  float* y = reinterpret_cast<float*>(heapPtr(env, info[0], info[4], static_cast<size_t>(outer * inner) * 4));
  const int64_t perRow = (inner + kChunk - 1) / kChunk;
  const int64_t tasks = outer * perRow;
  const int64_t span = inner < kChunk ? inner : kChunk;
  auto task = [&](int64_t t) {
    const int64_t o = t / perRow;
    const int64_t j = (t % perRow) * span;
    const int64_t len = inner - j < span ? inner - j : span;
    bool sa, sb;
    const float* pa = operandAt(a, ma, o, j, inner, sa);
    const float* pb = operandAt(b, mb, o, j, inner, sb);
    float* py = y + o * inner + j;
    if (op == kAdd) binaryDispatch<kAdd>(pa, sa, pb, sb, py, len);
    else if (op == kSub) binaryDispatch<kSub>(pa, sa, pb, sb, py, len);
    else if (op == kMul) binaryDispatch<kMul>(pa, sa, pb, sb, py, len);
    else if (op == kDiv) binaryDispatch<kDiv>(pa, sa, pb, sb, py, len);
    else binaryDispatch<kReluGrad>(pa, sa, pb, sb, py, len);
  };
  if (outer * inner >= kParallelMin) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; t++) task(t);
  } else {
    for (int64_t t = 0; t < tasks; t++) task(t);
  }
  return env.Undefined();
}

// reduceMiddle(heap, desc [pre, mid, post], xOffset, yOffset, scale): y[p, q] = scale · Σ_m x[p, m, q].
// Rows are added 8 at a time in float32 (pairwise), accumulated in float64 per chunk of kRowsPerChunk rows, and the
// chunks' float64 sums are added in order.
Napi::Value ReduceMiddle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 3) throw Napi::TypeError::New(env, "reduce descriptor must hold 3 integers");
  const int64_t pre = desc[0], mid = desc[1], post = desc[2];
  if (pre < 1 || mid < 1 || post < 1) throw Napi::RangeError::New(env, "bad reduce descriptor");
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], static_cast<size_t>(pre * mid * post) * 4));
  float* y = reinterpret_cast<float*>(heapPtr(env, info[0], info[3], static_cast<size_t>(pre * post) * 4));
  const double scale = info[4].As<Napi::Number>().DoubleValue();
  const int64_t chunks = (mid + kRowsPerChunk - 1) / kRowsPerChunk;
  std::vector<double> partial(static_cast<size_t>(pre * chunks * post));
  auto task = [&](int64_t t) {
    const int64_t p = t / chunks;
    const int64_t c = t % chunks;
    const int64_t m0 = c * kRowsPerChunk;
    const int64_t m1 = m0 + kRowsPerChunk < mid ? m0 + kRowsPerChunk : mid;
    double* acc = partial.data() + t * post;
    const float* base = x + (p * mid + m0) * post;
    int64_t m = m0;
    for (; m + 8 <= m1; m += 8, base += 8 * post) {
      for (int64_t q = 0; q < post; q++) {
        const float* r = base + q;
        const float s = r[0] + r[post] + (r[2 * post] + r[3 * post]) + (r[4 * post] + r[5 * post] + (r[6 * post] + r[7 * post]));
        acc[q] += s;
      }
    }
    for (; m < m1; m++, base += post) {
      for (int64_t q = 0; q < post; q++) acc[q] += base[q];
    }
  };
  const int64_t tasks = pre * chunks;
  if (pre * mid * post >= kParallelMin) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; t++) task(t);
  } else {
    for (int64_t t = 0; t < tasks; t++) task(t);
  }
  for (int64_t p = 0; p < pre; p++) {
    for (int64_t q = 0; q < post; q++) {
      double s = 0;
      for (int64_t c = 0; c < chunks; c++) s += partial[static_cast<size_t>((p * chunks + c) * post + q)];
      y[p * post + q] = static_cast<float>(s * scale);
    }
  }
  return env.Undefined();
}

// batchNormForward(heap, desc [rows, channels, hasOffset, hasScale], x, mean, variance, offset, scale, y, epsilon):
// y = (x − mean) · scale / √(variance + ε) + offset per channel (last axis); statistics are per-channel vectors.
Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 4) throw Napi::TypeError::New(env, "batchNorm descriptor must hold 4 integers");
  const int64_t rows = desc[0], ch = desc[1];
  const bool hasOffset = desc[2] != 0, hasScale = desc[3] != 0;
  if (rows < 1 || ch < 1) throw Napi::RangeError::New(env, "bad batchNorm descriptor");
  const size_t vec = static_cast<size_t>(ch) * 4;
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], static_cast<size_t>(rows * ch) * 4));
  const float* mean = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], vec));
  const float* var = reinterpret_cast<const float*>(heapPtr(env, info[0], info[4], vec));
  const float* offset = hasOffset ? reinterpret_cast<const float*>(heapPtr(env, info[0], info[5], vec)) : nullptr;
  const float* scale = hasScale ? reinterpret_cast<const float*>(heapPtr(env, info[0], info[6], vec)) : nullptr;
  float* y = reinterpret_cast<float*>(heapPtr(env, info[0], info[7], static_cast<size_t>(rows * ch) * 4));
  const float eps = static_cast<float>(info[8].As<Napi::Number>().DoubleValue());
  std::vector<float> k(static_cast<size_t>(ch)), m(static_cast<size_t>(ch)), o(static_cast<size_t>(ch));
  for (int64_t c = 0; c < ch; c++) {
    k[c] = (hasScale ? scale[c] : 1.0f) / std::sqrt(var[c] + eps);
    m[c] = mean[c];
    o[c] = hasOffset ? offset[c] : 0.0f;
  }
  const float* __restrict kp = k.data();
  const float* __restrict mp = m.data();
  const float* __restrict op = o.data();
  auto row = [&](int64_t r) {
    const float* __restrict xr = x + r * ch;
    float* __restrict yr = y + r * ch;
    const float* __restrict kr = kp;  // locals: captured references could alias yr
    const float* __restrict mr = mp;
    const float* __restrict orr = op;
    const int64_t n = ch;
    for (int64_t c = 0; c < n; c++) yr[c] = (xr[c] - mr[c]) * kr[c] + orr[c];
  };
  if (rows * ch >= kParallelMin) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) row(r);
  } else {
    for (int64_t r = 0; r < rows; r++) row(r);
  }
  return env.Undefined();
}

// maxPoolGrad(heap, desc [n, h, w, c, oh, ow, kh, kw, strideH, strideW, padTop, padLeft], dyOffset, xOffset, dxOffset):
// NHWC; each output position routes its gradient to the first maximum of its window in row-major scan order (as
// tfjs' cpu kernel and PyTorch), windows accumulated in output order; images in parallel.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 12) throw Napi::TypeError::New(env, "maxPoolGrad descriptor must hold 12 integers");
  const int64_t n = desc[0], h = desc[1], w = desc[2], c = desc[3], oh = desc[4], ow = desc[5];
  const int64_t kh = desc[6], kw = desc[7], sh = desc[8], sw = desc[9], pt = desc[10], pl = desc[11];
  if (n < 1 || h < 1 || w < 1 || c < 1 || oh < 1 || ow < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1) throw Napi::RangeError::New(env, "bad maxPoolGrad descriptor");
  const float* dy = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], static_cast<size_t>(n * oh * ow * c) * 4));
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], static_cast<size_t>(n * h * w * c) * 4));
  float* dx = reinterpret_cast<float*>(heapPtr(env, info[0], info[4], static_cast<size_t>(n * h * w * c) * 4));
  if (h * w * c > INT32_MAX) throw Napi::RangeError::New(env, "maxPoolGrad: one image exceeds 2^31 elements");
  // Channels in blocks of kLanes: the window's running maximum and its index per lane stay in local arrays, updated
  // branch-free (vectorised); the first valid tap initialises them, as the `at < 0` test of the JS pass does.
  constexpr int64_t kLanes = 16;
  auto image = [&](int64_t b) {
    float* dxb = dx + b * h * w * c;
    const float* xb = x + b * h * w * c;
    std::memset(dxb, 0, static_cast<size_t>(h * w * c) * 4);
    for (int64_t i = 0; i < oh; i++) {
      const int64_t h0 = i * sh - pt;
      const int64_t y0 = h0 < 0 ? 0 : h0;
      const int64_t y1 = h0 + kh < h ? h0 + kh : h;
      for (int64_t j = 0; j < ow; j++) {
        const int64_t w0 = j * sw - pl;
        const int64_t x0 = w0 < 0 ? 0 : w0;
        const int64_t x1 = w0 + kw < w ? w0 + kw : w;
        if (y0 >= y1 || x0 >= x1) continue;  // a window of padding only
        const float* g = dy + ((b * oh + i) * ow + j) * c;
        for (int64_t c0 = 0; c0 < c; c0 += kLanes) {
          const int64_t lanes = c - c0 < kLanes ? c - c0 : kLanes;
          float best[kLanes];
          int32_t at[kLanes];
          const int32_t first = static_cast<int32_t>((y0 * w + x0) * c + c0);
          for (int64_t k = 0; k < lanes; k++) {
            best[k] = xb[first + k];
            at[k] = first + static_cast<int32_t>(k);
          }
          for (int64_t yy = y0; yy < y1; yy++) {
            for (int64_t xx = yy == y0 ? x0 + 1 : x0; xx < x1; xx++) {
              const int32_t base = static_cast<int32_t>((yy * w + xx) * c + c0);
              const float* __restrict v = xb + base;
              if (lanes == kLanes) {
                for (int64_t k = 0; k < kLanes; k++) {
                  const bool take = v[k] > best[k];
                  best[k] = take ? v[k] : best[k];
                  at[k] = take ? base + static_cast<int32_t>(k) : at[k];
                }
              } else {
                for (int64_t k = 0; k < lanes; k++) {
                  const bool take = v[k] > best[k];
                  best[k] = take ? v[k] : best[k];
                  at[k] = take ? base + static_cast<int32_t>(k) : at[k];
                }
              }
            }
          }
          for (int64_t k = 0; k < lanes; k++) dxb[at[k]] += g[c0 + k];
        }
      }
    }
  };
  if (n > 1 && n * h * w * c >= kParallelMin) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < n; b++) image(b);
  } else {
    for (int64_t b = 0; b < n; b++) image(b);
  }
  return env.Undefined();
}

}  // namespace csn

namespace csn {

// slice(heap, desc [rank, inShape…, begin…, size…], xOffset, yOffset, elementBytes): y = x[begin : begin + size]
// for row-major tensors of 4-byte elements; the trailing axes taken whole are copied as one run; parallel over the
// rows of runs.
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  const int64_t rank = desc.ElementLength() > 0 ? desc[0] : 0;
  if (rank < 1 || rank > 8 || static_cast<int64_t>(desc.ElementLength()) != 1 + 3 * rank) throw Napi::TypeError::New(env, "slice descriptor must hold 1 + 3·rank integers (rank 1–8)");
  const int64_t elem = static_cast<int64_t>(info[4].As<Napi::Number>().DoubleValue());
  if (elem != 4) throw Napi::RangeError::New(env, "slice copies 4-byte elements");
  std::vector<int64_t> shape(rank), begin(rank), size(rank);
  int64_t inElems = 1, outElems = 1;
  for (int64_t i = 0; i < rank; i++) {
    shape[i] = desc[static_cast<size_t>(1 + i)];
    begin[i] = desc[static_cast<size_t>(1 + rank + i)];
    size[i] = desc[static_cast<size_t>(1 + 2 * rank + i)];
    if (shape[i] < 1 || size[i] < 1 || begin[i] < 0 || begin[i] + size[i] > shape[i]) throw Napi::RangeError::New(env, "bad slice descriptor");
    inElems *= shape[i];
    outElems *= size[i];
  }
  const uint8_t* x = heapPtr(env, info[0], info[2], static_cast<size_t>(inElems * elem));
  uint8_t* y = heapPtr(env, info[0], info[3], static_cast<size_t>(outElems * elem));
  // The contiguous run: the innermost axis plus every axis outside it taken whole.
  int64_t k = rank - 1;
  int64_t run = size[k];
  while (k > 0 && size[k] == shape[k] && begin[k] == 0) {
    k--;
    run *= size[k];
  }
  // Axes 0..k-1 index runs; axis k contributes `run` elements starting at begin[k]·stride[k].
  std::vector<int64_t> stride(rank);
  stride[rank - 1] = 1;
  for (int64_t i = rank - 2; i >= 0; i--) stride[i] = stride[i + 1] * shape[i + 1];
  const int64_t runs = outElems / run;
  auto copy = [&](int64_t r) {
    int64_t rem = r, src = begin[k] * stride[k];
    for (int64_t i = k - 1; i >= 0; i--) {
      src += (begin[i] + rem % size[i]) * stride[i];
      rem /= size[i];
    }
    std::memcpy(y + r * run * elem, x + src * elem, static_cast<size_t>(run * elem));
  };
  if (outElems >= kParallelMin && runs > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < runs; r++) copy(r);
  } else {
    for (int64_t r = 0; r < runs; r++) copy(r);
  }
  return env.Undefined();
}

}  // namespace csn

namespace csn {

// unary(heap, op, count, xOffset, yOffset, alpha): relu (x < 0 ? 0 : x, NaN kept), step (NaN kept, x > 0 ? 1 : alpha),
// square (x · x) — the definitions of tfjs' cpu kernels.
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t op = intArg(info[1]);
  const int64_t count = intArg(info[2]);
  if (op < 0 || op > 2 || count < 1) throw Napi::RangeError::New(env, "bad unary op or count");
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], static_cast<size_t>(count) * 4));
  float* y = reinterpret_cast<float*>(heapPtr(env, info[0], info[4], static_cast<size_t>(count) * 4));
  const float alpha = static_cast<float>(info[5].As<Napi::Number>().DoubleValue());
  auto run = [&](int64_t from, int64_t to) {
    const float* __restrict xs = x;
    float* __restrict ys = y;
    const float a = alpha;  // a local: a captured reference could alias ys and blocks vectorisation
    if (op == 0) {
      for (int64_t i = from; i < to; i++) ys[i] = xs[i] < 0.0f ? 0.0f : xs[i];
    } else if (op == 1) {
      // branch-free (random signs would mispredict): NaN → NaN, else 1 or alpha
      for (int64_t i = from; i < to; i++) {
        const float v = xs[i];
        ys[i] = v > 0.0f ? 1.0f : (v <= 0.0f ? a : v);
      }
    } else {
      for (int64_t i = from; i < to; i++) ys[i] = xs[i] * xs[i];
    }
  };
  const int64_t tasks = (count + kChunk - 1) / kChunk;
  if (count >= kParallelMin) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; t++) run(t * kChunk, (t + 1) * kChunk < count ? (t + 1) * kChunk : count);
  } else {
    run(0, count);
  }
  return env.Undefined();
}

}  // namespace csn
