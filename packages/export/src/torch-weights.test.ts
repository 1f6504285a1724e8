/**
 * The safetensors export with PyTorch key names, checked against the committed PyTorch fixture (fixtures/torch:
 * make-torch-fixture.ts wrote the weights and inputs, load_in_torch.py loaded them strictly into a torch.nn
 * re-implementation and recorded its features): today's exporter must produce the same file, and the tfjs model
 * and its ONNX export must give PyTorch's features on the same inputs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { initBackend, readSafetensors, tf } from '@clip-senet/core';
import { exportOnnx } from './onnx-export';
import { nchwToNhwc, relErr, torchFixtureModel } from './testing';
import { TORCH_WEIGHTS_FORMAT, torchStateDict, writeTorchWeights } from './torch-weights';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'torch');

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

describe('safetensors export with PyTorch key names', () => {
  it('produces the committed fixture file, tensor by tensor', () => {
    const model = torchFixtureModel();
    try {
      const committed = readSafetensors(join(FIXTURE, 'model.safetensors'));
      const now = torchStateDict(model);
      expect([...now.keys()].sort()).toEqual([...committed.tensors.keys()].sort());
      for (const [k, t] of now) {
        const c = committed.tensors.get(k)!;
        expect(t.shape, k).toEqual(c.shape);
        expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from((c.data as Float32Array).buffer, (c.data as Float32Array).byteOffset, (c.data as Float32Array).byteLength)), k).toBe(true);
      }
      expect(committed.metadata['clip_senet.format']).toBe(TORCH_WEIGHTS_FORMAT);
      expect(JSON.parse(committed.metadata['clip_senet.model_config']!)).toEqual(JSON.parse(JSON.stringify(model.config)));
      // the PyTorch names of the parts: torchvision/IBN-Net, bare OpenAI visual, nn.Linear [out, in]
      expect(now.get('appearance.layer1.0.bn1.IN.weight')!.shape).toEqual([2]);
      expect(now.get('appearance.conv1.weight')!.shape).toEqual([4, 3, 7, 7]);
      expect(now.get('sem.transformer.resblocks.0.attn.in_proj_weight')!.shape).toEqual([96, 32]);
      expect(now.get('fusion.fc.weight')!.shape).toEqual([16, 144]);
      expect(now.get('classifier.weight')!.shape).toEqual([4, 16]);
    } finally {
      model.dispose();
    }
  });

  it("PyTorch's features from the loaded file equal the tfjs model's and its ONNX export's (≤ 1e-4 relative)", async () => {
    const torch = JSON.parse(readFileSync(join(FIXTURE, 'torch-output.json'), 'utf8')) as { shape: [number, number]; features: number[]; keys: number };
    const inputs = readSafetensors(join(FIXTURE, 'inputs.safetensors')).tensors;
    const a = inputs.get('appearance')!.data as Float32Array;
    const s = inputs.get('semantic')!.data as Float32Array;
    const cams = inputs.get('camera_ids')!.data as Int32Array;
    const n = torch.shape[0];
    const model = torchFixtureModel();
    try {
      expect(torch.keys).toBe(torchStateDict(model).size);
      const want = Float32Array.from(torch.features);
      const got = tf.tidy(() => {
        const cameraIds = tf.tensor1d(cams, 'int32');
        return model.eval().forward({ appearance: nchwToNhwc(a, n, [32, 32]), semantic: nchwToNhwc(s, n, [32, 32]), cameraIds }).features.dataSync() as Float32Array;
      });
      expect(relErr(got, want)).toBeLessThanOrEqual(1e-4);
      const session = await ort.InferenceSession.create(exportOnnx(model).bytes, { intraOpNumThreads: 1 });
      const out = await session.run({
        appearance: new ort.Tensor('float32', a, [n, 3, 32, 32]),
        semantic: new ort.Tensor('float32', s, [n, 3, 32, 32]),
        camera_ids: new ort.Tensor('int64', BigInt64Array.from(cams, (c) => BigInt(c)), [n]),
      });
      await session.release();
      expect(relErr(out.features!.data as Float32Array, want)).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });

  it('refuses a non-finite weight and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clip-senet-torch-weights-'));
    const model = torchFixtureModel();
    try {
      const v = model.fusion.params.get('afem.fc.bias')!;
      tf.tidy(() => v.assign(tf.fill(v.shape, Infinity)));
      expect(() => writeTorchWeights(join(dir, 'w.safetensors'), model)).toThrow("torch weights: tensor 'fusion.afem.fc.bias' value 0 is Infinity (a non-finite weight); nothing written");
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
