// N-API entry points of @clip-senet/native: library info, thread count, and the kernels (conv.cc, matmul.cc,
// elementwise.cc, fused.cc).
#include <omp.h>

#include <cstring>

#include "common.h"

namespace csn {

dnnl::engine& engine() {
  thread_local dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream strm(engine());
  return strm;
}

int64_t intArg(const Napi::Value& v) { return static_cast<int64_t>(v.As<Napi::Number>().DoubleValue()); }

uint8_t* heapPtr(const Napi::Env& env, const Napi::Value& heap, const Napi::Value& offset, size_t bytes) {
  if (!heap.IsTypedArray()) throw Napi::TypeError::New(env, "heap must be a Uint8Array");
  auto view = heap.As<Napi::Uint8Array>();
  const int64_t off = intArg(offset);
  if (off < 0 || static_cast<size_t>(off) + bytes > view.ByteLength()) {
    throw Napi::RangeError::New(env, "tensor lies outside the heap view");
  }
  return view.Data() + off;
}

std::string keyOf(const std::vector<int64_t>& parts) {
  return std::string(reinterpret_cast<const char*>(parts.data()), parts.size() * sizeof(int64_t));
}

static const char* isaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* v = dnnl_version();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  out.Set("isa", isaName(dnnl::get_effective_cpu_isa()));
  out.Set("threads", omp_get_max_threads());
  out.Set("cachedPrimitives", static_cast<double>(cachedPrimitives()));
  return out;
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = intArg(info[0]);
  if (n < 1 || n > 1024) throw Napi::RangeError::New(info.Env(), "threads must be 1–1024");
  omp_set_num_threads(static_cast<int>(n));
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

static Napi::Value ClearCaches(const Napi::CallbackInfo& info) {
  clearCaches();
  return info.Env().Undefined();
}

// Wraps a kernel so oneDNN errors surface as JS errors naming the status.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
static Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  }
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("clearCaches", Napi::Function::New(env, ClearCaches));
  exports.Set("conv2dForward", Napi::Function::New(env, guarded<Conv2dForward>));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, guarded<Conv2dBackwardData>));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, guarded<Conv2dBackwardWeights>));
  exports.Set("matMul", Napi::Function::New(env, guarded<MatMul>));
  exports.Set("binary", Napi::Function::New(env, guarded<Binary>));
  exports.Set("reduceMiddle", Napi::Function::New(env, guarded<ReduceMiddle>));
  exports.Set("batchNormForward", Napi::Function::New(env, guarded<BatchNormForward>));
  exports.Set("maxPoolGrad", Napi::Function::New(env, guarded<MaxPoolGrad>));
  exports.Set("slice", Napi::Function::New(env, guarded<Slice>));
  exports.Set("unary", Napi::Function::New(env, guarded<Unary>));
  exports.Set("batchNormTrainForward", Napi::Function::New(env, guarded<BatchNormTrainForward>));
  exports.Set("batchNormTrainBackward", Napi::Function::New(env, guarded<BatchNormTrainBackward>));
  exports.Set("adamUpdate", Napi::Function::New(env, guarded<AdamUpdate>));
  return exports;
}

}  // namespace csn

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return csn::Init(env, exports); }

NODE_API_MODULE(clip_senet_native, InitModule)
