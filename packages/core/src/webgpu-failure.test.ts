/**
 * A webgpu device that stops being trustworthy mid-run (issue 14): lost (a driver reset; simulated by destroying it
 * through the test seam) or refusing a kernel (a validation error, after which Dawn leaves outputs unwritten — zeros,
 * not an error). Each is one clear line on the next read, never a wrong number, and `initBackend('webgpu')` then
 * makes a new device. Also AddN past the device's storage-buffer limit (the stock kernel's result was zeros). Runs on
 * Mesa's llvmpipe in CI; where no adapter exists it asserts the "no adapter" line instead (webgpu-testing.ts).
 */
import { describe, expect, it } from 'vitest';
import { tf } from './tf';
import { backendInfo } from './backend';
import { WebGPUDeviceError, webgpuDeviceFailure } from './webgpu';
import { expectNoLeaks } from './leak-check';
import { hostNormal, loseWebGPUDeviceForTests, onBackend, relativeError, useWebGPUForTests, webgpuForTests, describeOnWebGPU } from './webgpu-testing';

const target = await webgpuForTests();

/** The error a read of a fresh GPU result rejects with (undefined when it reads fine). */
async function readError(): Promise<unknown> {
  const t = tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])));
  try {
    await t.data();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    t.dispose();
  }
}

describeOnWebGPU({ describe, it, expect }, 'webgpu failures mid-run', target, ({ where }) => {

  it(`AddN over 40 inputs (past the device's storage-buffer limit) sums like cpu (to float32 rounding) on ${where}`, async () => {
    await useWebGPUForTests();
    expect(backendInfo()!.kernels!.replaced).toContain('AddN');
    const host = Array.from({ length: 40 }, (_, i) => hostNormal([3, 5], i + 1));
    const sum = async (): Promise<Float32Array> => {
      const xs = host.map((h) => tf.tensor(h.values, h.shape));
      const s = tf.addN(xs);
      const v = (await s.data()) as Float32Array;
      tf.dispose([s, ...xs]);
      return v;
    };
    const gpu = await expectNoLeaks(sum, 'AddN on webgpu');
    await onBackend('cpu');
    const cpu = await sum();
    expect(relativeError(gpu, cpu)).toBeLessThan(1e-6); // measured 2e-7 (one ulp) on llvmpipe
    expect(cpu.some((v) => Math.abs(v) > 1)).toBe(true); // not zeros, as the stock kernel returned
    expect(webgpuDeviceFailure()).toBeUndefined();
  });

  it('a kernel the device refuses: every later read fails with one line (no zeros); initBackend makes a new device', async () => {
    await useWebGPUForTests();
    expect(await readError()).toBeUndefined();
    const device = (tf.backend() as unknown as { device: { createShaderModule(d: { code: string }): unknown; createComputePipeline(d: unknown): unknown } }).device;
    // an invalid shader, as a kernel past a device limit is: Dawn reports it through uncapturederror only
    device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: 'not WGSL' }), entryPoint: 'main' } });
    const err = await readError();
    expect(err).toBeInstanceOf(WebGPUDeviceError);
    expect((err as WebGPUDeviceError).reason).toBe('kernel');
    expect((err as Error).message).toMatch(/^webgpu: a kernel was refused by the device \(.+\); its output and everything computed after it are invalid, so nothing more is read from this device$/);
    expect(webgpuDeviceFailure()).toBe((err as Error).message);
    await useWebGPUForTests();
    expect(webgpuDeviceFailure()).toBeUndefined();
    expect(await readError()).toBeUndefined();
  });

  it('a lost device: the next read is one line naming the loss; initBackend makes a new device that computes', async () => {
    await useWebGPUForTests();
    const kept = tf.tidy(() => tf.matMul(tf.ones([4, 4]), tf.ones([4, 4]))); // computed on the device about to be lost (small element-wise ops may run on the CPU)
    loseWebGPUDeviceForTests();
    const err = await readError();
    expect(err).toBeInstanceOf(WebGPUDeviceError);
    expect((err as WebGPUDeviceError).reason).toBe('lost');
    expect((err as Error).message).toBe('webgpu device lost (simulated by a test); everything on it is gone');
    await expect(kept.data()).rejects.toThrow(/^webgpu device lost/);
    kept.dispose();
    await useWebGPUForTests();
    expect(tf.getBackend()).toBe('webgpu');
    expect(webgpuDeviceFailure()).toBeUndefined();
    const t = tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])));
    expect((await t.data())[0]).toBe(8);
    t.dispose();
  });
});
