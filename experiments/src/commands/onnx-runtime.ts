/** onnxruntime-node, an optional dependency of the CLI: loaded on first use, absent → undefined (callers say what that means). */
import type * as OnnxRuntimeModule from 'onnxruntime-node';
import { isModuleNotFound } from '@clip-senet/core';

type OnnxRuntime = typeof OnnxRuntimeModule;

let cached: Promise<OnnxRuntime | undefined> | undefined;

/** The onnxruntime-node module, or undefined when it is not installed. */
export function loadOnnxRuntime(): Promise<OnnxRuntime | undefined> {
  cached ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: OnnxRuntime }).default ?? m) as OnnxRuntime,
    (err: NodeJS.ErrnoException) => {
      if (isModuleNotFound(err, 'onnxruntime-node')) return undefined;
      throw new Error(`onnxruntime-node is installed but does not load: ${err.message}`, { cause: err });
    },
  );
  return cached;
}
