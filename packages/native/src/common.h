// Shared helpers of the oneDNN addon: one CPU engine and stream per thread, per-shape primitive caches keyed by
// the integer descriptor of the call, and access to the caller's (wasm heap) memory without copies.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"

namespace csn {

// The engine and stream of the calling thread (JS calls are synchronous: one in flight per thread).
dnnl::engine& engine();
dnnl::stream& stream();

// Byte pointer to `heap` (a Uint8Array over an ArrayBuffer or SharedArrayBuffer) + offset, bounds-checked.
uint8_t* heapPtr(const Napi::Env& env, const Napi::Value& heap, const Napi::Value& offset, size_t bytes);

// Integer argument (offsets may exceed 2^31: wasm32 heaps reach 4 GiB).
int64_t intArg(const Napi::Value& v);

// A cache key from integers.
std::string keyOf(const std::vector<int64_t>& parts);

// Per-thread cache of entries by key.
template <typename T>
std::unordered_map<std::string, std::unique_ptr<T>>& cache() {
  thread_local std::unordered_map<std::string, std::unique_ptr<T>> c;
  return c;
}

Napi::Value Conv2dForward(const Napi::CallbackInfo& info);
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info);
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info);
Napi::Value MatMul(const Napi::CallbackInfo& info);
Napi::Value Binary(const Napi::CallbackInfo& info);
Napi::Value ReduceMiddle(const Napi::CallbackInfo& info);
Napi::Value BatchNormForward(const Napi::CallbackInfo& info);
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info);
Napi::Value Slice(const Napi::CallbackInfo& info);
Napi::Value Unary(const Napi::CallbackInfo& info);
Napi::Value BatchNormTrainForward(const Napi::CallbackInfo& info);
Napi::Value BatchNormTrainBackward(const Napi::CallbackInfo& info);
Napi::Value AdamUpdate(const Napi::CallbackInfo& info);
size_t cachedPrimitives();
void clearCaches();

}  // namespace csn
