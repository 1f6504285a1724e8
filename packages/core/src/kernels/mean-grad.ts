/**
 * Mean gradient without `ones(x.shape)`: tfjs' stock gradient builds a full-size tensor of ones,
 * multiplies it with dy and divides (three full passes); a broadcasting add of dy / n onto zeros is
 * one allocation and one pass. Same values. The zeros come from the backend's `Fill` kernel, not
 * `tf.zeros`, which builds them as a JS array and uploads it: on wasm that was ≈ 120 MB of JS
 * allocations per training step of the bench ResNet-18 (BatchNorm moments), enough external-memory
 * pressure for a few major GCs per step.
 */
import { tf } from '../tf';

export const meanGradBroadcast: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x] = saved as [tf.Tensor];
    const { axis } = attrs as unknown as { axis: number | number[] };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const reduceSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
    const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)); // dy with reduced axes as 1
    return {
      x: () => tf.add(tf.fill(x.shape, 0, 'float32'), tf.div(tf.reshape(dy as tf.Tensor, keptShape), reduceSize)),
    };
  },
};
