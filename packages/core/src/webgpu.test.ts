/**
 * Backend selection with webgpu (issue 14): forcing it, `auto` never taking a software adapter, and the one line for
 * each kind of bad input. Runs on Mesa's llvmpipe where it is installed (CI), and asserts the "no adapter" fall back
 * where it is not (see webgpu-testing.ts; `CLIP_SENET_REQUIRE_WEBGPU=1` makes that a failure).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { backendInfo, initBackend } from './backend';
import { tempDirs } from './testing';
import { MESA_APT_PACKAGES, NO_SYNC_READ, probeWebGPU } from './webgpu';
import { useWebGPUForTests, webgpuForTests } from './webgpu-testing';

const target = await webgpuForTests();
const dirs = tempDirs('clip-senet-webgpu-');
afterAll(() => dirs.removeAll());

function lineOf(pref: 'auto' | 'webgpu', env: Record<string, string>): Promise<{ name: string; line: string }> {
  const lines: string[] = [];
  return initBackend(pref, { env, threads: 1, log: (l) => lines.push(l) }).then((name) => {
    expect(lines).toHaveLength(1);
    return { name, line: lines[0]! };
  });
}

describe('webgpu backend selection', () => {
  if (target.available) {
    it('CLIP_SENET_BACKEND=webgpu takes the software adapter and names it; provenance says webgpu+software', async () => {
      await tf.setBackend('cpu'); // back from cpu: the same webgpu device again, and its line
      const { name, line } = await lineOf('auto', { CLIP_SENET_BACKEND: 'webgpu' });
      expect(name).toBe('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
      const a = backendInfo()!.webgpu!;
      expect(line).toMatch(/^\[clip-senet\] backend: webgpu \(CLIP_SENET_BACKEND\) — requested webgpu/);
      expect(line).toContain(`Dawn ${a.dawnBackend}; ${a.software ? 'software' : 'hardware'})`);
      expect(line).toMatch(/vendor .*, architecture /);
      expect(backendInfo()!.provenance).toBe(a.software ? 'webgpu+software' : 'webgpu');
      expect(backendInfo()!.kernels!.replaced).toContain('GroupedConv2D');
    });

    it('auto never takes a software adapter: pinned to OpenGL ES it names llvmpipe, says why not, and picks wasm', async () => {
      const { name, line } = await lineOf('auto', { CLIP_SENET_DAWN_BACKEND: 'opengles' });
      expect(name).toBe('wasm');
      expect(line).toMatch(/webgpu: no WebGPU adapter \(opengles: .* Dawn opengles; software\) is a software adapter\)/);
      expect(backendInfo()!.provenance).toMatch(/^wasm/);
      await useWebGPUForTests();
      expect(tf.getBackend()).toBe('webgpu');
    });

    it('a synchronous read of GPU data fails with one line naming the async API', async () => {
      await useWebGPUForTests();
      const t = tf.tidy(() => tf.matMul(tf.ones([32, 32]), tf.ones([32, 32]))); // computed on the GPU
      expect(() => t.dataSync()).toThrow(NO_SYNC_READ);
      expect((await t.data())[0]).toBe(32);
      t.dispose();
    });
  } else {
    it('no adapter here: CLIP_SENET_BACKEND=webgpu fails with one line naming the apt packages', async () => {
      expect(target.reason).toMatch(/^Backend 'webgpu' requested but unavailable: /);
      expect(target.reason).not.toContain('\n');
      expect(target.reason).toContain(`apt-get install ${MESA_APT_PACKAGES}`);
      await expect(initBackend('webgpu', { env: {}, log: null })).rejects.toThrow(/no WebGPU adapter/);
    });
  }

  it('auto here (no GPU) says why webgpu was not chosen, in the same one line, and picks wasm', async () => {
    const { name, line } = await lineOf('auto', {});
    expect(name).toBe('wasm');
    expect(line).toMatch(/; webgpu: (no WebGPU adapter \(vulkan: .+\); auto takes hardware adapters only|the Dawn binary .+ failed to load \(.+\)); wasm SIMD/);
  });

  it('a Dawn binary that fails to load: one line; auto falls back to wasm', async () => {
    const bogus = join(dirs.make(), 'dawn.node');
    writeFileSync(bogus, 'not an ELF file');
    const probe = await probeWebGPU({ hardwareOnly: false, env: { CLIP_SENET_DAWN_NODE: bogus } });
    expect(probe.ok).toBe(false);
    const reason = probe.ok ? '' : probe.reason;
    // Where neither loader exists, Dawn is never loaded: the line names the missing loaders instead.
    expect(reason).toMatch(new RegExp(`^(the Dawn binary ${bogus} failed to load \\(.+\\)|no WebGPU adapter \\(vulkan: no libvulkan.so.1; opengles: no libEGL.so.1\\).*)$`));
    const { name, line } = await lineOf('auto', { CLIP_SENET_DAWN_NODE: bogus, CLIP_SENET_DAWN_BACKEND: 'opengles' });
    expect(name).toBe('wasm');
    expect(line).toMatch(/; webgpu: (the Dawn binary .* failed to load|no WebGPU adapter)/);
  });

  it('rejects an unknown Dawn backend, naming the variable', async () => {
    await expect(initBackend('webgpu', { env: { CLIP_SENET_DAWN_BACKEND: 'metal' }, log: null })).rejects.toThrow(/CLIP_SENET_DAWN_BACKEND: unknown Dawn backend 'metal'; expected one of vulkan, opengles/);
  });
});
