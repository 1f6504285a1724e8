/**
 * @clip-senet/native — the optional oneDNN addon (issue 13): C++ kernels that work in place on a caller's memory,
 * built from source at install (scripts/build.mjs). This module only loads it and describes its calls; registering
 * kernels on the tfjs wasm backend is @clip-senet/core's job (src/kernels/native.ts there).
 *
 * Every kernel takes `heap`, a Uint8Array over the memory the tensors live in (the wasm backend's heap, an
 * ArrayBuffer or SharedArrayBuffer), plus byte offsets into it: nothing is copied in or out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Library facts reported by the addon. */
export interface NativeInfo {
  /** oneDNN version, e.g. `2.6.3`. */
  readonly version: string;
  /** The instruction set oneDNN dispatches to (`dnnl_get_effective_cpu_isa`), e.g. `avx512_core_amx`. */
  readonly isa: string;
  /** OpenMP threads oneDNN uses. */
  readonly threads: number;
  /** Primitives cached (one per kernel, direction and shape). */
  readonly cachedPrimitives: number;
}

/**
 * Conv geometry, in this order (Int32Array of 18): n, ih, iw, ic, oh, ow, oc, kh, kw, strideH, strideW,
 * dilationH, dilationW (tfjs convention, 1 = none), padTop, padBottom, padLeft, padRight, groups.
 * Activations NHWC; filter [kh, kw, ic/groups, oc], output channels ordered by group.
 */
export type ConvDescriptor = Int32Array;

/** Fused activation codes (FusedConv2D's `activation`). */
export const ACTIVATION_CODES = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 } as const;

/** The addon's functions. Offsets are byte offsets into `heap`; outputs are written in place. */
export interface NativeBinding {
  info(): NativeInfo;
  /** Sets oneDNN's OpenMP thread count; returns the count in effect. */
  setThreads(threads: number): number;
  /** Drops every cached primitive (tests; memory pressure). */
  clearCaches(): void;
  /** y = act(conv(x, w) + bias); `biasOffset` −1 = no bias. */
  conv2dForward(heap: Uint8Array, desc: ConvDescriptor, xOffset: number, wOffset: number, biasOffset: number, yOffset: number, activation: number, alpha: number): void;
  /** dx from dy and w. */
  conv2dBackwardData(heap: Uint8Array, desc: ConvDescriptor, dyOffset: number, wOffset: number, dxOffset: number): void;
  /** dw from x and dy. */
  conv2dBackwardWeights(heap: Uint8Array, desc: ConvDescriptor, xOffset: number, dyOffset: number, dwOffset: number): void;
  /**
   * C[b] = op(A[b]) · op(B[b]), row-major; desc = [batchA, batchB, m, n, k, transposeA, transposeB]; a batch of 1
   * broadcasts. A is stored [batchA, m, k] ([batchA, k, m] when transposed), B [batchB, k, n] ([batchB, n, k]).
   */
  matMul(heap: Uint8Array, desc: Int32Array, aOffset: number, bOffset: number, cOffset: number): void;
  /**
   * Float32 y = a ∘ b (∘: + − × ÷, or a · step(b)) over an [outer, inner] output; desc = [op, outer, inner, modeA, modeB] with op from
   * `BINARY_OPS` and each operand's mode from `BROADCAST_MODES` (full [outer, inner]; a row of `inner` values
   * repeated over outer; a column of `outer` values, each repeated over its row; a scalar).
   */
  binary(heap: Uint8Array, desc: Int32Array, aOffset: number, bOffset: number, yOffset: number): void;
  /** Float32 y[p, q] = scale · Σ_m x[p, m, q] for x stored [pre, mid, post]; desc = [pre, mid, post]. Float64 accumulation. */
  reduceMiddle(heap: Uint8Array, desc: Int32Array, xOffset: number, yOffset: number, scale: number): void;
  /**
   * y = (x − mean) · scale / √(variance + ε) + offset over the last axis (`channels`); desc = [rows, channels,
   * hasOffset, hasScale]; statistics are vectors of `channels` values (offsets of absent ones are ignored).
   */
  batchNormForward(heap: Uint8Array, desc: Int32Array, xOffset: number, meanOffset: number, varianceOffset: number, offsetOffset: number, scaleOffset: number, yOffset: number, epsilon: number): void;
  /**
   * NHWC max-pool gradient, routed to the first maximum of each window (row-major scan); desc = [n, h, w, c, oh, ow,
   * kh, kw, strideH, strideW, padTop, padLeft]; dx is [n, h, w, c].
   */
  maxPoolGrad(heap: Uint8Array, desc: Int32Array, dyOffset: number, xOffset: number, dxOffset: number): void;
  /** y = x[begin : begin + size] of a row-major tensor of 4-byte elements; desc = [rank, shape…, begin…, size…]. */
  slice(heap: Uint8Array, desc: Int32Array, xOffset: number, yOffset: number, elementBytes: 4): void;
  /**
   * Float32 y = f(x) over `count` values, f from `UNARY_OPS` as tfjs' cpu kernels define them: Relu `x < 0 ? 0 : x`,
   * Step `x > 0 ? 1 : alpha` (NaN kept), Square `x · x`.
   */
  unary(heap: Uint8Array, op: number, count: number, xOffset: number, yOffset: number, alpha: number): void;
  /**
   * BatchNorm in training mode over x [rows, channels] (NHWC flattened): mean and biased variance over rows (float64
   * Σx, Σx² in one pass; written as float32 [channels]), then y = (x − mean) · gamma / √(variance + ε) + beta, ReLU'd when
   * desc[2] = 1; desc = [rows, channels, relu].
   */
  batchNormTrainForward(heap: Uint8Array, desc: Int32Array, xOffset: number, gammaOffset: number, betaOffset: number, yOffset: number, meanOffset: number, varianceOffset: number, epsilon: number): void;
  /**
   * Its gradient w.r.t. x, gamma, beta from the gradients of all three outputs (dy; dmean, dvariance of `channels`
   * values, zeros when unused); with relu, `yOffset` is the forward's output (dy masked by y > 0), else ignored.
   */
  batchNormTrainBackward(
    heap: Uint8Array,
    desc: Int32Array,
    dyOffset: number,
    xOffset: number,
    yOffset: number,
    gammaOffset: number,
    meanOffset: number,
    varianceOffset: number,
    dmeanOffset: number,
    dvarianceOffset: number,
    dxOffset: number,
    dgammaOffset: number,
    dbetaOffset: number,
    epsilon: number,
  ): void;
  /**
   * One Adam(W) step over `count` float32 values into new buffers, bitwise the float32 op chain of engine's Adam;
   * hyper = float32 [beta1, 1 − beta1, beta2, 1 − beta2, √(1 − beta2ᵗ), eps, lr / (1 − beta1ᵗ), l2 (0: none), shrink
   * (1 − lr·wd; 1: none)] (`ADAM_HYPER` names the slots).
   */
  adamUpdate(heap: Uint8Array, count: number, pOffset: number, mOffset: number, vOffset: number, gOffset: number, pOut: number, mOut: number, vOut: number, hyper: Float32Array): void;
}

/** Slots of `adamUpdate`'s hyper-parameter vector. */
export const ADAM_HYPER = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'bc2Sqrt', 'eps', 'stepSize', 'l2', 'shrink'] as const;

/** `unary`'s op codes. */
export const UNARY_OPS = { Relu: 0, Step: 1, Square: 2 } as const;

/** `binary`'s op codes; ReluGrad is a · step(b) (dy · (x > 0 ? 1 : x ≤ 0 ? 0 : NaN)). */
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, ReluGrad: 4 } as const;
/** `binary`'s operand modes. */
export const BROADCAST_MODES = { full: 0, row: 1, column: 2, scalar: 3 } as const;

/** The outcome of loading the addon: the binding, or one line saying why not. */
export type NativeLoad = { readonly ok: true; readonly binding: NativeBinding; readonly info: NativeInfo } | { readonly ok: false; readonly reason: string };

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where node-gyp puts the addon. */
export const ADDON_PATH = join(packageRoot, 'build', 'Release', 'clip_senet_native.node');
const STATUS_PATH = join(packageRoot, 'build', 'status.json');

let loaded: NativeLoad | undefined;

function buildStatus(): string {
  if (!existsSync(STATUS_PATH)) return 'the addon was never built (run `npm ci`, or `npm run build -w @clip-senet/native`)';
  try {
    const status = JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { built?: boolean; reason?: string };
    return status.built ? 'the build reported success but the addon file is missing' : `not built at install: ${status.reason ?? 'unknown reason'}`;
  } catch {
    return 'build/status.json is unreadable';
  }
}

/**
 * Loads the addon once (later calls return the same outcome). OpenMP reads its environment when libgomp loads, so
 * `OMP_WAIT_POLICY` defaults to `PASSIVE` here (idle oneDNN threads sleep instead of spinning on cores the wasm
 * backend's threads need) unless the caller set it.
 */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = { ok: false, reason: buildStatus() };
    return loaded;
  }
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const binding = createRequire(import.meta.url)(ADDON_PATH) as NativeBinding;
    loaded = { ok: true, binding, info: binding.info() };
  } catch (err) {
    loaded = { ok: false, reason: `the addon failed to load (${(err as Error).message.split('\n')[0]}); reinstall libdnnl2 or rebuild with \`npm run build -w @clip-senet/native\`` };
  }
  return loaded;
}
