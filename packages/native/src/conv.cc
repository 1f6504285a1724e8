// 2-D convolution on oneDNN, in place on the caller's memory: forward (optional bias + activation post-op),
// backward data and backward weights, with groups. Activations are NHWC, tfjs filters [kh, kw, Ci/G, Co]
// (Co ordered by group). Primitives choose their weight layout (`any`); the reorder between the tfjs layout and that
// layout is a cached primitive per shape, run on each call (weights change every training step).
#include <cstring>

#include "common.h"

namespace csn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// The integer descriptor JS passes (Int32Array, this order).
struct ConvDesc {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, g;
};

ConvDesc readDesc(const Napi::CallbackInfo& info, size_t index) {
  auto arr = info[index].As<Napi::Int32Array>();
  if (arr.ElementLength() != 18) throw Napi::TypeError::New(info.Env(), "conv descriptor must have 18 entries");
  const int32_t* d = arr.Data();
  ConvDesc c{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15], d[16], d[17]};
  if (c.g < 1 || c.ic % c.g != 0 || c.oc % c.g != 0) throw Napi::RangeError::New(info.Env(), "channels must divide by groups");
  return c;
}

std::vector<int64_t> keyParts(const ConvDesc& c) {
  return {c.n, c.ih, c.iw, c.ic, c.oh, c.ow, c.oc, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pb, c.pl, c.pr, c.g};
}

memory::desc srcMd(const ConvDesc& c) { return memory::desc({c.n, c.ic, c.ih, c.iw}, dt::f32, tag::nhwc); }
memory::desc dstMd(const ConvDesc& c) { return memory::desc({c.n, c.oc, c.oh, c.ow}, dt::f32, tag::nhwc); }

memory::dims weightDims(const ConvDesc& c) {
  if (c.g == 1) return {c.oc, c.ic, c.kh, c.kw};
  return {c.g, c.oc / c.g, c.ic / c.g, c.kh, c.kw};
}

// The tfjs filter [kh, kw, Ci/G, Co] as strides over oneDNN's logical (G,) O, I, H, W dims.
memory::desc userWeightMd(const ConvDesc& c) {
  const int64_t icg = c.ic / c.g;
  const int64_t ocg = c.oc / c.g;
  if (c.g == 1) return memory::desc(weightDims(c), dt::f32, memory::dims{1, c.oc, c.kw * icg * c.oc, icg * c.oc});
  return memory::desc(weightDims(c), dt::f32, memory::dims{ocg, 1, c.oc, c.kw * icg * c.oc, icg * c.oc});
}

memory::desc anyWeightMd(const ConvDesc& c) { return memory::desc(weightDims(c), dt::f32, tag::any); }

memory::dims strides(const ConvDesc& c) { return {c.sh, c.sw}; }
memory::dims dilates(const ConvDesc& c) { return {c.dh - 1, c.dw - 1}; }  // oneDNN counts inserted zeros
memory::dims padL(const ConvDesc& c) { return {c.pt, c.pl}; }
memory::dims padR(const ConvDesc& c) { return {c.pb, c.pr}; }

dnnl::convolution_forward::primitive_desc forwardHint(const ConvDesc& c, bool bias) {
  auto alg = dnnl::algorithm::convolution_direct;
  auto fwd = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcMd(c), anyWeightMd(c),
                                                    memory::desc({c.oc}, dt::f32, tag::x), dstMd(c), strides(c),
                                                    dilates(c), padL(c), padR(c))
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcMd(c), anyWeightMd(c),
                                                    dstMd(c), strides(c), dilates(c), padL(c), padR(c));
  return dnnl::convolution_forward::primitive_desc(fwd, engine());
}

// Memory for the caller's buffers: a handle set per call.
memory userMemory(const memory::desc& md) { return memory(md, engine(), DNNL_MEMORY_NONE); }

struct Forward {
  dnnl::convolution_forward prim;
  memory src, dst, bias, userWeights, weights;  // weights: the primitive's layout (== userWeights when no reorder)
  bool reorderWeights = false;
  dnnl::reorder reorder;
};

struct BackwardData {
  dnnl::convolution_backward_data prim;
  memory diffDst, diffSrc, userWeights, weights;
  bool reorderWeights = false;
  dnnl::reorder reorder;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  memory src, diffDst, userDiffWeights, diffWeights;
  bool reorderOut = false;
  dnnl::reorder reorder;
};

// Activation codes shared with the JS side (src/index.ts).
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

dnnl::primitive_attr activationAttr(int64_t act, float alpha) {
  dnnl::post_ops po;
  switch (act) {
    case kLinear: break;
    case kRelu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    case kSigmoid: po.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kElu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    default: throw std::invalid_argument("unknown activation code");
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

Forward& forwardEntry(const ConvDesc& c, bool bias, int64_t act, float alpha) {
  auto parts = keyParts(c);
  parts.push_back(bias);
  parts.push_back(act);
  int32_t alphaBits;
  std::memcpy(&alphaBits, &alpha, sizeof alphaBits);
  parts.push_back(alphaBits);
  auto& entries = cache<Forward>();
  auto key = keyOf(parts);
  auto it = entries.find(key);
  if (it != entries.end()) return *it->second;
  auto alg = dnnl::algorithm::convolution_direct;
  auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcMd(c), anyWeightMd(c),
                                                  memory::desc({c.oc}, dt::f32, tag::x), dstMd(c), strides(c),
                                                  dilates(c), padL(c), padR(c))
                : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcMd(c), anyWeightMd(c),
                                                  dstMd(c), strides(c), dilates(c), padL(c), padR(c));
  dnnl::convolution_forward::primitive_desc pd(d, activationAttr(act, alpha), engine());
  auto e = std::make_unique<Forward>();
  e->prim = dnnl::convolution_forward(pd);
  e->src = userMemory(pd.src_desc());
  e->dst = userMemory(pd.dst_desc());
  if (bias) e->bias = userMemory(pd.bias_desc());
  e->userWeights = userMemory(userWeightMd(c));
  e->reorderWeights = pd.weights_desc() != userWeightMd(c);
  if (e->reorderWeights) {
    e->weights = memory(pd.weights_desc(), engine());
    e->reorder = dnnl::reorder(e->userWeights, e->weights);
  }
  return *entries.emplace(key, std::move(e)).first->second;
}

BackwardData& backwardDataEntry(const ConvDesc& c) {
  auto& entries = cache<BackwardData>();
  auto key = keyOf(keyParts(c));
  auto it = entries.find(key);
  if (it != entries.end()) return *it->second;
  auto hint = forwardHint(c, false);
  dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, srcMd(c), anyWeightMd(c), dstMd(c),
                                          strides(c), dilates(c), padL(c), padR(c));
  dnnl::convolution_backward_data::primitive_desc pd(d, engine(), hint);
  auto e = std::make_unique<BackwardData>();
  e->prim = dnnl::convolution_backward_data(pd);
  e->diffDst = userMemory(pd.diff_dst_desc());
  e->diffSrc = userMemory(pd.diff_src_desc());
  e->userWeights = userMemory(userWeightMd(c));
  e->reorderWeights = pd.weights_desc() != userWeightMd(c);
  if (e->reorderWeights) {
    e->weights = memory(pd.weights_desc(), engine());
    e->reorder = dnnl::reorder(e->userWeights, e->weights);
  }
  return *entries.emplace(key, std::move(e)).first->second;
}

BackwardWeights& backwardWeightsEntry(const ConvDesc& c) {
  auto& entries = cache<BackwardWeights>();
  auto key = keyOf(keyParts(c));
  auto it = entries.find(key);
  if (it != entries.end()) return *it->second;
  auto hint = forwardHint(c, false);
  dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, srcMd(c), anyWeightMd(c), dstMd(c),
                                             strides(c), dilates(c), padL(c), padR(c));
  dnnl::convolution_backward_weights::primitive_desc pd(d, engine(), hint);
  auto e = std::make_unique<BackwardWeights>();
  e->prim = dnnl::convolution_backward_weights(pd);
  e->src = userMemory(pd.src_desc());
  e->diffDst = userMemory(pd.diff_dst_desc());
  e->userDiffWeights = userMemory(userWeightMd(c));
  e->reorderOut = pd.diff_weights_desc() != userWeightMd(c);
  if (e->reorderOut) {
    e->diffWeights = memory(pd.diff_weights_desc(), engine());
    e->reorder = dnnl::reorder(e->diffWeights, e->userDiffWeights);
  }
  return *entries.emplace(key, std::move(e)).first->second;
}

size_t bytesOf(const memory::desc& md) { return md.get_size(); }

}  // namespace

// conv2dForward(heap, desc, xOff, wOff, biasOff (−1: none), yOff, activation, alpha)
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvDesc c = readDesc(info, 1);
  const bool bias = intArg(info[4]) >= 0;
  Forward& e = forwardEntry(c, bias, intArg(info[6]), info[7].As<Napi::Number>().FloatValue());
  e.src.set_data_handle(heapPtr(env, info[0], info[2], bytesOf(e.src.get_desc())));
  e.userWeights.set_data_handle(heapPtr(env, info[0], info[3], bytesOf(e.userWeights.get_desc())));
  e.dst.set_data_handle(heapPtr(env, info[0], info[5], bytesOf(e.dst.get_desc())));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}};
  if (bias) {
    e.bias.set_data_handle(heapPtr(env, info[0], info[4], bytesOf(e.bias.get_desc())));
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  if (e.reorderWeights) e.reorder.execute(stream(), e.userWeights, e.weights);
  args.emplace(DNNL_ARG_WEIGHTS, e.reorderWeights ? e.weights : e.userWeights);
  e.prim.execute(stream(), args);
  stream().wait();
  return env.Undefined();
}

// conv2dBackwardData(heap, desc, dyOff, wOff, dxOff)
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvDesc c = readDesc(info, 1);
  BackwardData& e = backwardDataEntry(c);
  e.diffDst.set_data_handle(heapPtr(env, info[0], info[2], bytesOf(e.diffDst.get_desc())));
  e.userWeights.set_data_handle(heapPtr(env, info[0], info[3], bytesOf(e.userWeights.get_desc())));
  e.diffSrc.set_data_handle(heapPtr(env, info[0], info[4], bytesOf(e.diffSrc.get_desc())));
  if (e.reorderWeights) e.reorder.execute(stream(), e.userWeights, e.weights);
  e.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, e.diffDst},
                            {DNNL_ARG_WEIGHTS, e.reorderWeights ? e.weights : e.userWeights},
                            {DNNL_ARG_DIFF_SRC, e.diffSrc}});
  stream().wait();
  return env.Undefined();
}

// conv2dBackwardWeights(heap, desc, xOff, dyOff, dwOff)
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvDesc c = readDesc(info, 1);
  BackwardWeights& e = backwardWeightsEntry(c);
  e.src.set_data_handle(heapPtr(env, info[0], info[2], bytesOf(e.src.get_desc())));
  e.diffDst.set_data_handle(heapPtr(env, info[0], info[3], bytesOf(e.diffDst.get_desc())));
  e.userDiffWeights.set_data_handle(heapPtr(env, info[0], info[4], bytesOf(e.userDiffWeights.get_desc())));
  e.prim.execute(stream(), {{DNNL_ARG_SRC, e.src},
                            {DNNL_ARG_DIFF_DST, e.diffDst},
                            {DNNL_ARG_DIFF_WEIGHTS, e.reorderOut ? e.diffWeights : e.userDiffWeights}});
  if (e.reorderOut) e.reorder.execute(stream(), e.diffWeights, e.userDiffWeights);
  stream().wait();
  return env.Undefined();
}

size_t convCachedPrimitives() { return cache<Forward>().size() + cache<BackwardData>().size() + cache<BackwardWeights>().size(); }

void convClearCaches() {
  cache<Forward>().clear();
  cache<BackwardData>().clear();
  cache<BackwardWeights>().clear();
}

}  // namespace csn
