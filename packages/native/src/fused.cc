// Fused training kernels (plain loops) where tfjs' autodiff composes many activation-sized passes: BatchNorm in
// training mode (batch statistics, normalise, affine, optional ReLU) and its backward in two passes each way, and the
// Adam(W) update in one pass. In place on the caller's memory like the other kernels; results independent of the
// OpenMP thread count: reductions run over fixed chunks of kRows rows with float64 partials summed in chunk order,
// element-wise work is split by row or element.
#include <omp.h>

#include <cmath>
#include <vector>

#include "common.h"

namespace csn {
namespace {

constexpr int64_t kParallelMin = 1 << 15;
// Rows of C channels per partial sum (fixed: results must not depend on the thread count).
constexpr int64_t kRows = 256;
constexpr int64_t kChunk = 1 << 14;

// dy masked by ReLU's gradient from the ReLU's output y: y > 0 → dy, y ≤ 0 → 0 · dy, NaN → NaN (as tfjs' step).
inline float reluMasked(float g, float y) { return g * (y > 0.0f ? 1.0f : (y <= 0.0f ? 0.0f : y)); }

// Per-chunk float64 sums over rows of [rows, ch] data: body(r0, r1, acc) fills acc (2·ch doubles per chunk:
// two sums per channel); returns the chunk sums added in chunk order.
template <typename Body>
std::vector<double> chunkedSums(int64_t rows, int64_t ch, bool parallel, Body body) {
  const int64_t chunks = (rows + kRows - 1) / kRows;
  std::vector<double> partial(static_cast<size_t>(chunks * 2 * ch), 0.0);
  auto task = [&](int64_t c) {
    const int64_t r0 = c * kRows;
    const int64_t r1 = r0 + kRows < rows ? r0 + kRows : rows;
    body(r0, r1, partial.data() + c * 2 * ch);
  };
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) task(c);
  } else {
    for (int64_t c = 0; c < chunks; c++) task(c);
  }
  std::vector<double> total(static_cast<size_t>(2 * ch), 0.0);
  for (int64_t c = 0; c < chunks; c++) {
    const double* p = partial.data() + c * 2 * ch;
    for (int64_t j = 0; j < 2 * ch; j++) total[j] += p[j];
  }
  return total;
}

template <typename Row>
void forRows(int64_t rows, bool parallel, Row row) {
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) row(r);
  } else {
    for (int64_t r = 0; r < rows; r++) row(r);
  }
}

}  // namespace

// batchNormTrainForward(heap, desc [rows, channels, relu], x, gamma, beta, y, mean, variance, epsilon):
// mean and biased variance of x [rows, channels] over rows (one pass of float64 sums), then
// y = (x − mean) · gamma / √(variance + ε) + beta, ReLU'd when relu = 1. mean, variance: float32 [channels].
Napi::Value BatchNormTrainForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 3) throw Napi::TypeError::New(env, "batchNormTrain descriptor must hold 3 integers");
  const int64_t rows = desc[0], ch = desc[1];
  const bool relu = desc[2] != 0;
  if (rows < 1 || ch < 1) throw Napi::RangeError::New(env, "bad batchNormTrain descriptor");
  const size_t all = static_cast<size_t>(rows * ch) * 4, vec = static_cast<size_t>(ch) * 4;
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], all));
  const float* gamma = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], vec));
  const float* beta = reinterpret_cast<const float*>(heapPtr(env, info[0], info[4], vec));
  float* y = reinterpret_cast<float*>(heapPtr(env, info[0], info[5], all));
  float* meanOut = reinterpret_cast<float*>(heapPtr(env, info[0], info[6], vec));
  float* varOut = reinterpret_cast<float*>(heapPtr(env, info[0], info[7], vec));
  const double eps = info[8].As<Napi::Number>().DoubleValue();
  const bool parallel = rows * ch >= kParallelMin;
  const double n = static_cast<double>(rows);

  // One pass: Σx and Σx² per channel in float64 (var = E[x²] − mean²; float64 keeps the cancellation harmless
  // for activations, |mean| / std ≪ 10⁶).
  std::vector<double> mean(static_cast<size_t>(ch)), var(static_cast<size_t>(ch));
  {
    auto sums = chunkedSums(rows, ch, parallel, [&](int64_t r0, int64_t r1, double* acc) {
      const int64_t c = ch;
      double* __restrict s1 = acc;
      double* __restrict s2 = acc + c;
      for (int64_t r = r0; r < r1; r++) {
        const float* __restrict xr = x + r * c;
        for (int64_t j = 0; j < c; j++) {
          const double v = xr[j];
          s1[j] += v;
          s2[j] += v * v;
        }
      }
    });
    for (int64_t j = 0; j < ch; j++) {
      mean[j] = sums[j] / n;
      const double v = sums[ch + j] / n - mean[j] * mean[j];
      var[j] = v > 0.0 ? v : 0.0;
    }
  }
  std::vector<float> k(static_cast<size_t>(ch)), mf(static_cast<size_t>(ch)), b(static_cast<size_t>(ch));
  for (int64_t j = 0; j < ch; j++) {
    meanOut[j] = static_cast<float>(mean[j]);
    varOut[j] = static_cast<float>(var[j]);
    k[j] = static_cast<float>(gamma[j] / std::sqrt(var[j] + eps));
    mf[j] = static_cast<float>(mean[j]);
    b[j] = beta[j];
  }
  const float* kp = k.data();
  const float* mpf = mf.data();
  const float* bp = b.data();
  forRows(rows, parallel, [&](int64_t r) {
    const float* __restrict xr = x + r * ch;
    float* __restrict yr = y + r * ch;
    const float* __restrict kr = kp;
    const float* __restrict mr = mpf;
    const float* __restrict br = bp;
    const int64_t c = ch;
    if (relu) {
      for (int64_t j = 0; j < c; j++) {
        const float v = (xr[j] - mr[j]) * kr[j] + br[j];
        yr[j] = v < 0.0f ? 0.0f : v;
      }
    } else {
      for (int64_t j = 0; j < c; j++) yr[j] = (xr[j] - mr[j]) * kr[j] + br[j];
    }
  });
  return env.Undefined();
}

// batchNormTrainBackward(heap, desc [rows, channels, relu], dy, x, y, gamma, mean, variance, dmean, dvariance, dx,
// dgamma, dbeta, epsilon): the gradient of batchNormTrainForward w.r.t. x, gamma and beta given the gradients of all
// three outputs (dy; dmean, dvariance: [channels], zeros when unused). With relu = 1, y is the forward's output and
// dy is masked by y > 0 first. g = masked dy, x̂ = (x − mean)·s, s = 1/√(variance + ε):
//   dbeta = Σ g, dgamma = Σ g·x̂,
//   dx = gamma·s·(g − dbeta/N − x̂·dgamma/N) + dmean/N + 2·dvariance·(x − mean)/N.
Napi::Value BatchNormTrainBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto desc = info[1].As<Napi::Int32Array>();
  if (desc.ElementLength() != 3) throw Napi::TypeError::New(env, "batchNormTrain descriptor must hold 3 integers");
  const int64_t rows = desc[0], ch = desc[1];
  const bool relu = desc[2] != 0;
  if (rows < 1 || ch < 1) throw Napi::RangeError::New(env, "bad batchNormTrain descriptor");
  const size_t all = static_cast<size_t>(rows * ch) * 4, vec = static_cast<size_t>(ch) * 4;
  const float* dy = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], all));
  const float* x = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], all));
  const float* y = relu ? reinterpret_cast<const float*>(heapPtr(env, info[0], info[4], all)) : nullptr;
  const float* gamma = reinterpret_cast<const float*>(heapPtr(env, info[0], info[5], vec));
  const float* meanIn = reinterpret_cast<const float*>(heapPtr(env, info[0], info[6], vec));
  const float* varIn = reinterpret_cast<const float*>(heapPtr(env, info[0], info[7], vec));
  const float* dmean = reinterpret_cast<const float*>(heapPtr(env, info[0], info[8], vec));
  const float* dvar = reinterpret_cast<const float*>(heapPtr(env, info[0], info[9], vec));
  float* dx = reinterpret_cast<float*>(heapPtr(env, info[0], info[10], all));
  float* dgamma = reinterpret_cast<float*>(heapPtr(env, info[0], info[11], vec));
  float* dbeta = reinterpret_cast<float*>(heapPtr(env, info[0], info[12], vec));
  const double eps = info[13].As<Napi::Number>().DoubleValue();
  const bool parallel = rows * ch >= kParallelMin;
  const double n = static_cast<double>(rows);

  std::vector<float> mf(meanIn, meanIn + ch);
  const float* mp = mf.data();
  // acc[j] = Σ g, acc[ch + j] = Σ g·(x − mean)
  auto sums = chunkedSums(rows, ch, parallel, [&](int64_t r0, int64_t r1, double* acc) {
    const int64_t c = ch;
    const float* __restrict m = mp;
    double* __restrict sg = acc;
    double* __restrict sgx = acc + c;
    for (int64_t r = r0; r < r1; r++) {
      const float* __restrict gr = dy + r * c;
      const float* __restrict xr = x + r * c;
      if (relu) {
        const float* __restrict yr = y + r * c;
        for (int64_t j = 0; j < c; j++) {
          const double g = reluMasked(gr[j], yr[j]);
          sg[j] += g;
          sgx[j] += g * static_cast<double>(xr[j] - m[j]);
        }
      } else {
        for (int64_t j = 0; j < c; j++) {
          const double g = gr[j];
          sg[j] += g;
          sgx[j] += g * static_cast<double>(xr[j] - m[j]);
        }
      }
    }
  });
  std::vector<float> a(static_cast<size_t>(ch)), bx(static_cast<size_t>(ch)), d(static_cast<size_t>(ch));
  for (int64_t j = 0; j < ch; j++) {
    const double s = 1.0 / std::sqrt(static_cast<double>(varIn[j]) + eps);
    const double db = sums[j];
    const double dg = sums[ch + j] * s;
    dbeta[j] = static_cast<float>(db);
    dgamma[j] = static_cast<float>(dg);
    const double A = gamma[j] * s;
    const double B = -A * s * dg / n + 2.0 * dvar[j] / n;
    const double C = -A * db / n + dmean[j] / n;
    a[j] = static_cast<float>(A);
    bx[j] = static_cast<float>(B);
    d[j] = static_cast<float>(C - B * mf[j]);
  }
  const float* ap = a.data();
  const float* bp = bx.data();
  const float* dp = d.data();
  forRows(rows, parallel, [&](int64_t r) {
    const float* __restrict gr = dy + r * ch;
    const float* __restrict xr = x + r * ch;
    float* __restrict out = dx + r * ch;
    const float* __restrict ar = ap;
    const float* __restrict br = bp;
    const float* __restrict cr = dp;
    const int64_t c = ch;
    if (relu) {
      const float* __restrict yr = y + r * c;
      for (int64_t j = 0; j < c; j++) out[j] = ar[j] * reluMasked(gr[j], yr[j]) + br[j] * xr[j] + cr[j];
    } else {
      for (int64_t j = 0; j < c; j++) out[j] = ar[j] * gr[j] + br[j] * xr[j] + cr[j];
    }
  });
  return env.Undefined();
}

// adamUpdate(heap, count, p, m, v, g, pOut, mOut, vOut, hyper): one Adam(W) step over `count` float32 values,
// hyper (Float32Array of 9, the float32 scalars tfjs would use) = [beta1, 1 − beta1, beta2, 1 − beta2, √(1 − beta2ᵗ),
// eps, lr/(1 − beta1ᵗ), l2 (wd, 0 = none), shrink (1 − lr·wd, 1 = none)], each step rounded to float32 in the order
// of the op chain it replaces (engine's optimizer.ts), so the result is bitwise that chain's:
//   g' = l2 ? g + p·l2 : g;  m' = m·β1 + g'·(1−β1);  v' = v·β2 + (g'·g')·(1−β2);
//   p' = (shrink ≠ 1 ? p·shrink : p) − (m' / (√v' / bc2 + eps))·step.
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t count = intArg(info[1]);
  if (count < 1) throw Napi::RangeError::New(env, "adamUpdate: count must be ≥ 1");
  const size_t bytes = static_cast<size_t>(count) * 4;
  const float* p = reinterpret_cast<const float*>(heapPtr(env, info[0], info[2], bytes));
  const float* m = reinterpret_cast<const float*>(heapPtr(env, info[0], info[3], bytes));
  const float* v = reinterpret_cast<const float*>(heapPtr(env, info[0], info[4], bytes));
  const float* g = reinterpret_cast<const float*>(heapPtr(env, info[0], info[5], bytes));
  float* po = reinterpret_cast<float*>(heapPtr(env, info[0], info[6], bytes));
  float* mo = reinterpret_cast<float*>(heapPtr(env, info[0], info[7], bytes));
  float* vo = reinterpret_cast<float*>(heapPtr(env, info[0], info[8], bytes));
  auto hyper = info[9].As<Napi::Float32Array>();
  if (hyper.ElementLength() != 9) throw Napi::TypeError::New(env, "adamUpdate: hyper-parameters must be a Float32Array of 9");
  const float b1 = hyper[0], nb1 = hyper[1], b2 = hyper[2], nb2 = hyper[3], bc2 = hyper[4], eps = hyper[5], step = hyper[6], l2 = hyper[7], shrink = hyper[8];
  const bool useL2 = l2 != 0.0f, useShrink = shrink != 1.0f;
  auto run = [&](int64_t from, int64_t to) {
    const float* __restrict ps = p;
    const float* __restrict ms = m;
    const float* __restrict vs = v;
    const float* __restrict gs = g;
    float* __restrict pw = po;
    float* __restrict mw = mo;
    float* __restrict vw = vo;
    const float B1 = b1, NB1 = nb1, B2 = b2, NB2 = nb2, BC2 = bc2, EPS = eps, STEP = step, L2 = l2, SHRINK = shrink;
    for (int64_t i = from; i < to; i++) {
      const float gi = useL2 ? gs[i] + ps[i] * L2 : gs[i];
      const float m1 = ms[i] * B1 + gi * NB1;
      const float v1 = vs[i] * B2 + (gi * gi) * NB2;
      const float denom = std::sqrt(v1) / BC2 + EPS;
      const float base = useShrink ? ps[i] * SHRINK : ps[i];
      mw[i] = m1;
      vw[i] = v1;
      pw[i] = base - (m1 / denom) * STEP;
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
