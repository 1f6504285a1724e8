/**
 * A trained model's weights as safetensors with PyTorch key names and layouts, so a PyTorch re-implementation loads
 * them with `load_state_dict(strict=True)`:
 *
 * | key | PyTorch module | layout |
 * |---|---|---|
 * | `appearance.<k>` | torchvision / IBN-Net ResNet (`conv1.weight`, `layer1.0.bn1.IN.weight`, `layer1.0.se.fc.0.weight`, …) | backbones' `torchvision` key map |
 * | `sem.<k>` | OpenAI CLIP `VisionTransformer` (`model.visual`: `conv1.weight`, `transformer.resblocks.0.attn.in_proj_weight`, …) | backbones' `openai` key map, bare |
 * | `fusion.<k>`, `neck.<k>`, `classifier.<k>` | `nn.Linear` (`weight` [out, in]), `nn.BatchNorm1d`, `nn.Embedding` tables (`camera_view.camera` [rows, D]), AFEM `group_weight` | as named in afem |
 *
 * BatchNorm running statistics are included (`num_batches_tracked` is not: PyTorch's BatchNorm fills it in on load).
 * The metadata records the model config and this layout's version.
 */
import { writeSafetensors } from '@clip-senet/core';
import { exportWeights } from '@clip-senet/backbones';
import type { Variable } from '@clip-senet/core';
import type { ClipSenetModel } from '@clip-senet/engine';

/** Version tag of the file layout (metadata `clip_senet.format`). */
export const TORCH_WEIGHTS_FORMAT = 'clip-senet-torch-weights/1';

/** One F32 tensor in PyTorch layout. */
export interface TorchTensor {
  readonly dtype: 'F32';
  readonly shape: number[];
  readonly data: Float32Array;
}

/** A fusion-head / neck / classifier tensor in PyTorch layout: 2-D `*.weight` are `nn.Linear` ([in, out] → [out, in]). */
function headTensor(name: string, v: Variable): TorchTensor {
  const data = v.dataSync() as Float32Array;
  if (v.rank === 2 && (name === 'weight' || name.endsWith('.weight'))) {
    const [rows, cols] = v.shape as [number, number];
    const out = new Float32Array(data.length);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!; // [in, out] → [out, in]
    return { dtype: 'F32', shape: [cols, rows], data: out };
  }
  return { dtype: 'F32', shape: [...v.shape], data: Float32Array.from(data) };
}

/** Every model tensor (classifier included; no loss parameters) by PyTorch key, in PyTorch layout. */
export function torchStateDict(model: ClipSenetModel): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  const put = (key: string, t: TorchTensor): void => {
    if (out.has(key)) throw new Error(`torch weights: key '${key}' produced twice`);
    out.set(key, t);
  };
  for (const [k, t] of exportWeights(model.appearance, { format: 'torchvision' })) put(`appearance.${k}`, t);
  if (model.sem) {
    for (const [k, t] of exportWeights(model.sem, { format: 'openai' })) {
      if (!k.startsWith('visual.')) throw new Error(`torch weights: unexpected SEM key '${k}' (expected visual.*)`);
      put(`sem.${k.slice('visual.'.length)}`, t);
    }
  }
  const heads: Array<[string, { params: Map<string, Variable>; buffers: Map<string, Variable> } | undefined]> = [
    ['fusion', model.fusion],
    ['neck', model.bnneck],
    ['classifier', model.classifier],
  ];
  for (const [prefix, part] of heads) {
    if (!part) continue;
    for (const [k, v] of [...part.params, ...part.buffers]) put(`${prefix}.${k}`, headTensor(k, v));
  }
  return out;
}

/** Write {@link torchStateDict} as safetensors (atomically); `metadata` adds to the model config and format tag. */
export function writeTorchWeights(path: string, model: ClipSenetModel, metadata: Readonly<Record<string, string>> = {}): number {
  const tensors = torchStateDict(model);
  for (const [k, t] of tensors) {
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`torch weights: tensor '${k}' value ${bad} is ${t.data[bad]} (a non-finite weight); nothing written`);
  }
  writeSafetensors(path, tensors, { format: 'pt', 'clip_senet.format': TORCH_WEIGHTS_FORMAT, 'clip_senet.model_config': JSON.stringify(model.config), ...metadata });
  return tensors.size;
}
