/**
 * Kernel-level time profile of the benchmark training step (which kernels dominate on a backend).
 * Usage: tsx bench/profile-kernels.ts --backend wasm [--steps 2] [--by-shape]  (--by-shape: one row per kernel and input shapes)
 * Wraps every registered kernel of the backend with a timer (synchronous backends only: wasm, cpu),
 * then imports resnet-step.ts, which runs the step.
 */
import { parseArgs } from 'node:util';
import { tf, initBackend, type BackendPreference } from '../src/index';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, 'by-shape': { type: 'boolean', default: false } }, strict: false });
const byShape = values['by-shape'] === true;
process.argv = process.argv.filter((a) => a !== '--by-shape'); // resnet-step.ts parses the rest strictly
const backendName = values.backend as string;
await initBackend(backendName as BackendPreference, { log: null });
const totals = new Map<string, { ms: number; calls: number }>();
let depth = 0;
for (const k of tf.getKernelsForBackend(backendName)) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backendName);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      depth++;
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        depth--;
        if (depth === 0) {
          const key = byShape ? `${k.kernelName} ${Object.values(args.inputs).map((t) => (t == null ? '-' : `[${t.shape.join(',')}]`)).join(' ')}` : k.kernelName;
          const e = totals.get(key) ?? { ms: 0, calls: 0 };
          e.ms += performance.now() - t0;
          e.calls++;
          totals.set(key, e);
        }
      }
    },
  });
}
await import('./resnet-step');
const all = [...totals.values()].reduce((a, b) => a + b.ms, 0);
const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, byShape ? 40 : 15);
for (const [name, e] of rows) console.log(`${name.padEnd(byShape ? 56 : 24)} ${e.ms.toFixed(0).padStart(7)} ms ${((100 * e.ms) / all).toFixed(1).padStart(5)} %  ${e.calls} calls`);
