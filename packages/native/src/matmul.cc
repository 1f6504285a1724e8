// Batched matrix product on oneDNN, in place on the caller's memory: C[b] = op(A[b]) · op(B[b]) with row-major
// operands, transposes expressed as strides (no copies), and batch broadcasting where one side has batch 1.
#include "common.h"

namespace csn {
namespace {

using dnnl::memory;
using dt = memory::data_type;

struct MatMulEntry {
  dnnl::matmul prim;
  memory a, b, c;
};

// A logical [batch, rows, cols] operand stored row-major as [batch, rows, cols] or, when transposed, [batch, cols, rows].
memory::desc operandMd(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  const memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({batch, rows, cols}, dt::f32, strides);
}

MatMulEntry& entry(int64_t ba, int64_t bb, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  auto& entries = cache<MatMulEntry>();
  auto key = keyOf({ba, bb, m, n, k, ta, tb});
  auto it = entries.find(key);
  if (it != entries.end()) return *it->second;
  const int64_t bc = ba > bb ? ba : bb;
  auto aMd = operandMd(ba, m, k, ta);
  auto bMd = operandMd(bb, k, n, tb);
  auto cMd = operandMd(bc, m, n, false);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(aMd, bMd, cMd), engine());
  auto e = std::make_unique<MatMulEntry>();
  e->prim = dnnl::matmul(pd);
  e->a = memory(aMd, engine(), DNNL_MEMORY_NONE);
  e->b = memory(bMd, engine(), DNNL_MEMORY_NONE);
  e->c = memory(cMd, engine(), DNNL_MEMORY_NONE);
  return *entries.emplace(key, std::move(e)).first->second;
}

}  // namespace

// matMul(heap, desc Int32Array [batchA, batchB, m, n, k, transposeA, transposeB], aOff, bOff, cOff)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = info[1].As<Napi::Int32Array>();
  if (d.ElementLength() != 7) throw Napi::TypeError::New(env, "matmul descriptor must have 7 entries");
  const int32_t* p = d.Data();
  const int64_t ba = p[0], bb = p[1], m = p[2], n = p[3], k = p[4];
  if (!(ba == bb || ba == 1 || bb == 1)) throw Napi::RangeError::New(env, "batches must match or one must be 1");
  MatMulEntry& e = entry(ba, bb, m, n, k, p[5] != 0, p[6] != 0);
  const int64_t bc = ba > bb ? ba : bb;
  e.a.set_data_handle(heapPtr(env, info[0], info[2], static_cast<size_t>(ba * m * k) * 4));
  e.b.set_data_handle(heapPtr(env, info[0], info[3], static_cast<size_t>(bb * k * n) * 4));
  e.c.set_data_handle(heapPtr(env, info[0], info[4], static_cast<size_t>(bc * m * n) * 4));
  e.prim.execute(stream(), {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}});
  stream().wait();
  return env.Undefined();
}

size_t matmulCachedPrimitives() { return cache<MatMulEntry>().size(); }
void matmulClearCaches() { cache<MatMulEntry>().clear(); }

size_t convCachedPrimitives();
void convClearCaches();

size_t cachedPrimitives() { return convCachedPrimitives() + matmulCachedPrimitives(); }
void clearCaches() {
  convClearCaches();
  matmulClearCaches();
}

}  // namespace csn
