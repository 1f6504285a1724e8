/**
 * @clip-senet/export — a trained CLIP-SENet taken elsewhere: the ONNX graph of its retrieval feature (built with the
 * `onnx-proto` schema binding, verified in onnxruntime-node) and its weights as safetensors with PyTorch key names.
 */

// ONNX
export { exportOnnx, ONNX_EXPORT_FORMAT } from './onnx-export';
export type { OnnxExport, OnnxExportOptions, InputRecipe } from './onnx-export';
export { OnnxGraph, checkOpset, decodeOnnxModel, float, MIN_OPSET, MAX_OPSET, DEFAULT_OPSET } from './onnx-graph';
export type { ValueSpec, AttrValue, FloatAttr } from './onnx-graph';

// PyTorch-named weights
export { torchStateDict, writeTorchWeights, TORCH_WEIGHTS_FORMAT } from './torch-weights';
export type { TorchTensor } from './torch-weights';
