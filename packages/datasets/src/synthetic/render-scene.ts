/**
 * Synthetic vehicle world: one camera image of one vehicle. The camera contributes a static background (drawn
 * from the camera's own stream, so every image of a camera shares its scene), the view distribution, scale and
 * crop jitter, occluders, illumination gain + colour cast, sensor noise, blur and JPEG quality. All per-image
 * randomness comes from the `Rng` passed in, so an image's bytes depend only on (world seed, id, camera, k).
 */
import { type SKRSContext2D, createCanvas } from '@napi-rs/canvas';
import type { Rng } from '@clip-senet/core';
import { drawVehicle } from './render-vehicle';
import { css } from './vehicle-geometry';
import { type CameraSpec, type VehicleIdentity, type View, sampleView } from './world-spec';

/** What was rendered (for captions and attribute records). */
export interface RenderedImage {
  /** Encoded JPEG bytes. */
  readonly jpeg: Buffer;
  readonly view: View;
  /** True when the vehicle points left. */
  readonly mirrored: boolean;
  readonly occluded: boolean;
  readonly jpegQuality: number;
}

function drawBackground(ctx: SKRSContext2D, cam: CameraSpec, size: number, bg: Rng, panX: number): void {
  const horizon = cam.horizon * size;
  const sky = ctx.createLinearGradient(0, 0, 0, horizon);
  sky.addColorStop(0, css(cam.sky, 1.1));
  sky.addColorStop(1, css(cam.sky, 0.92));
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, size, horizon + 1);
  ctx.save();
  ctx.translate(panX, 0);
  const n = 6 + bg.int(5);
  for (let i = 0; i < n; i++) {
    const x = bg.uniform(-0.2, 1.1) * size;
    if (cam.scenery === 'buildings') {
      const w = bg.uniform(0.15, 0.35) * size;
      const h = bg.uniform(0.3, 1) * horizon;
      const grey = bg.intRange(90, 190);
      ctx.fillStyle = css([grey, grey - bg.int(15), grey - bg.int(25)]);
      ctx.fillRect(x, horizon - h, w, h + 1);
      ctx.fillStyle = 'rgba(30,40,55,0.45)';
      for (let wy = horizon - h + 0.06 * size; wy < horizon - 0.04 * size; wy += 0.07 * size) {
        for (let wx = x + 0.03 * size; wx < x + w - 0.04 * size; wx += 0.06 * size) ctx.fillRect(wx, wy, 0.03 * size, 0.035 * size);
      }
    } else if (cam.scenery === 'trees') {
      const r = bg.uniform(0.08, 0.18) * size;
      ctx.fillStyle = css([bg.intRange(30, 70), bg.intRange(80, 130), bg.intRange(30, 60)]);
      ctx.beginPath();
      ctx.arc(x, horizon - r * 0.6, r, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.fillStyle = css([bg.intRange(130, 170), bg.intRange(80, 110), bg.intRange(60, 80)]);
      ctx.fillRect(x, horizon - 0.25 * size, bg.uniform(0.2, 0.5) * size, 0.25 * size + 1);
    }
  }
  ctx.restore();
  const road = ctx.createLinearGradient(0, horizon, 0, size);
  road.addColorStop(0, css(cam.road, 1.1));
  road.addColorStop(1, css(cam.road, 0.85));
  ctx.fillStyle = road;
  ctx.fillRect(0, horizon, size, size - horizon);
  if (cam.laneMarkings) {
    ctx.strokeStyle = 'rgba(235,235,220,0.8)';
    ctx.lineWidth = Math.max(1, size / 64);
    for (const f of [-0.6, 0.5, 1.6]) {
      ctx.beginPath();
      ctx.moveTo(size * 0.5 + panX * 0.3, horizon);
      ctx.lineTo(size * f + panX, size);
      ctx.stroke();
    }
  }
}

function drawOccluder(ctx: SKRSContext2D, size: number, rng: Rng): void {
  const kind = rng.int(3);
  if (kind === 0) {
    // lamp post / pole in front of the vehicle
    const x = rng.uniform(0.1, 0.9) * size;
    ctx.fillStyle = css([rng.intRange(60, 120), rng.intRange(60, 120), rng.intRange(60, 120)]);
    ctx.fillRect(x, 0, rng.uniform(0.04, 0.08) * size, size);
  } else if (kind === 1) {
    // the corner of another vehicle entering the frame
    const left = rng.bernoulli(0.5);
    const w = rng.uniform(0.18, 0.35) * size;
    ctx.fillStyle = css([rng.intRange(20, 220), rng.intRange(20, 220), rng.intRange(20, 220)]);
    ctx.beginPath();
    ctx.roundRect(left ? -0.1 * size : size - w, size * rng.uniform(0.5, 0.7), w + 0.1 * size, size * 0.5, size * 0.05);
    ctx.fill();
  } else {
    // a traffic sign on a pole
    const x = rng.uniform(0.05, 0.8) * size;
    const y = rng.uniform(0.05, 0.3) * size;
    ctx.fillStyle = '#5a5c60';
    ctx.fillRect(x + 0.06 * size, y, 0.025 * size, size);
    ctx.fillStyle = rng.bernoulli(0.5) ? '#1d4fb0' : '#c02020';
    ctx.fillRect(x, y, 0.15 * size, 0.15 * size);
  }
}

/** Illumination gain + colour cast + sensor noise, in place on RGBA pixels. */
function applyPhotometry(data: Uint8ClampedArray, cam: CameraSpec, rng: Rng): void {
  const gain = cam.gain * rng.uniform(0.9, 1.1);
  const m = cam.cast.map((c) => c * gain);
  for (let i = 0; i < data.length; i += 4) {
    const n = cam.noise * (rng.float() + rng.float() + rng.float() - 1.5) * 2;
    data[i] = data[i]! * m[0]! + n;
    data[i + 1] = data[i + 1]! * m[1]! + n;
    data[i + 2] = data[i + 2]! * m[2]! + n;
  }
}

/**
 * Render one image of `id` seen by `cam` at `size`×`size` pixels. Draw order of the random stream is fixed,
 * so the same `rng` state gives the same bytes.
 */
export function renderVehicleImage(id: VehicleIdentity, cam: CameraSpec, size: number, rng: Rng, bgRng: Rng): RenderedImage {
  const view = sampleView(cam, rng);
  const mirrored = view !== 'front' && view !== 'rear' && rng.bernoulli(0.5);
  const extent = rng.uniform(cam.scale[0], cam.scale[1]);
  const dx = rng.uniform(-cam.shift, cam.shift) * size;
  const dy = rng.uniform(-cam.shift, cam.shift) * size;
  const panX = rng.uniform(-0.05, 0.05) * size;
  const occluded = rng.bernoulli(cam.occlusion);
  const jpegQuality = rng.intRange(cam.jpegQuality[0], cam.jpegQuality[1]);

  const canvas = createCanvas(size, size);
  const ctx = canvas.getContext('2d');
  drawBackground(ctx, cam, size, bgRng, panX);
  drawVehicle(ctx, id, view, { size, extent, dx, dy, mirror: mirrored });
  if (occluded) drawOccluder(ctx, size, rng.derive('occluder'));
  const img = ctx.getImageData(0, 0, size, size);
  applyPhotometry(img.data, cam, rng.derive('photometry'));
  ctx.putImageData(img, 0, 0);
  let out = canvas;
  if (cam.blur > 0) {
    out = createCanvas(size, size);
    const octx = out.getContext('2d');
    octx.drawImage(canvas, 0, 0); // under the blurred copy, so the borders do not darken
    octx.filter = `blur(${((cam.blur * size) / 64).toFixed(3)}px)`;
    octx.drawImage(canvas, 0, 0);
  }
  return { jpeg: out.encodeSync('jpeg', jpegQuality), view, mirrored, occluded, jpegQuality };
}
