/**
 * Synthetic vehicle world: three-quarter views as an extruded profile (the classic 2.5-D drawing). The side
 * profile is foreshortened and sheared so its near end sits lowest; the roof, windshield / rear window and hood /
 * trunk are quads swept from the profile's top line by the width vector `v` (to the far side: right and up for
 * an elevated camera), and the near face (lights, grille, plate, bumper) is drawn into the parallelogram
 * spanned by `v` at the near end.
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import { drawFace, drawFacePanel } from './render-face';
import { drawSide } from './render-side';
import { type Geometry, css, glassColour } from './vehicle-geometry';
import type { VehicleIdentity } from './world-spec';

type Ctx = SKRSContext2D;
type Pt = readonly [number, number];

const S = 0.74; // side foreshortening
const SH = 0.1; // shear: far end raised by SH·S·L
const VX = 0.55; // width vector, as fractions of the vehicle width
const VY = -0.22;

/** Bounding box [width, height] of a three-quarter view in metres (y measured up from the near ground point). */
export function threeQuarterExtent(g: Geometry): [number, number] {
  return [S * g.L + VX * g.W, Math.max(g.roofH, g.rearH) + 0.25 - VY * g.W + SH * S * g.L];
}

function quad(ctx: Ctx, a: Pt, b: Pt, v: Pt, fill: string): void {
  ctx.fillStyle = fill;
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.lineTo(b[0] + v[0], b[1] + v[1]);
  ctx.lineTo(a[0] + v[0], a[1] + v[1]);
  ctx.closePath();
  ctx.fill();
}

const lerp = (a: Pt, b: Pt, t: number): Pt => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];

function drawTops(ctx: Ctx, g: Geometry, id: VehicleIdentity, rear: boolean, P: (x: number, h: number) => Pt, v: Pt): void {
  const d = id.details;
  const [rb, rr, rf, fb] = g.cabin;
  if (g.kind === 'bus') {
    quad(ctx, P(0, g.roofH), P(g.L, g.roofH), v, css(id.rgb, 1.12));
    return;
  }
  if (g.kind === 'truck') {
    quad(ctx, P(0, g.rearH), P(rb - 0.2, g.rearH), v, '#ececea');
    quad(ctx, P(rr, g.roofH), P(rf, g.roofH), v, css(id.rgb, 1.12));
    return;
  }
  const glass = glassColour(d.tint);
  quad(ctx, P(rr, g.roofH), P(rf, g.roofH), v, css(id.rgb, 1.12));
  if (d.sunroof) {
    const s = (t: number, u: number): Pt => {
      const p = lerp(P(rr, g.roofH), P(rf, g.roofH), t);
      return [p[0] + v[0] * u, p[1] + v[1] * u];
    };
    quad(ctx, s(0.35, 0.25), s(0.65, 0.25), [v[0] * 0.5, v[1] * 0.5], '#141519');
  }
  if (rear) {
    quad(ctx, P(rr, g.roofH), P(rb, g.belt), v, css(glass, 1.1));
    quad(ctx, P(rb, g.belt), P(0, g.rearH), v, css(id.rgb, 1.06));
  } else {
    quad(ctx, P(rf, g.roofH), P(fb, g.belt), v, css(glass, 1.15));
    quad(ctx, P(fb, g.belt), P(g.L, g.frontH), v, css(id.rgb, 1.06));
    if (d.decal === 'hood-stripes') {
      const a = P(fb, g.belt);
      const b = P(g.L, g.frontH);
      for (const t of [0.38, 0.56]) quad(ctx, [a[0] + v[0] * t, a[1] + v[1] * t], [b[0] + v[0] * t, b[1] + v[1] * t], [v[0] * 0.08, v[1] * 0.08], css(d.decalRgb));
    }
  }
  if (d.roofRack) {
    ctx.strokeStyle = '#202124';
    ctx.lineWidth = 0.07;
    for (const u of [0.08, 0.92]) {
      const a = P(rr + 0.1, g.roofH + 0.14);
      const b = P(rf - 0.1, g.roofH + 0.14);
      ctx.beginPath();
      ctx.moveTo(a[0] + v[0] * u, a[1] + v[1] * u);
      ctx.lineTo(b[0] + v[0] * u, b[1] + v[1] * u);
      ctx.stroke();
    }
  }
}

/** Draw a three-quarter view; the near end (front, or rear when `rear`) is on the right, at the ground origin. */
export function drawThreeQuarter(ctx: Ctx, g: Geometry, id: VehicleIdentity, rear: boolean, px: number): void {
  const v: Pt = [VX * g.W, VY * g.W];
  const P = (x: number, h: number): Pt => {
    const xn = rear ? g.L - x : x;
    return [S * xn, -h + SH * S * (xn - g.L)];
  };
  ctx.fillStyle = 'rgba(0,0,0,0.35)';
  ctx.beginPath();
  ctx.ellipse((S * g.L + v[0]) / 2, -0.05 + v[1] / 2, (S * g.L + v[0]) / 2 + 0.1, 0.3, SH * 0.8, 0, Math.PI * 2);
  ctx.fill();
  drawTops(ctx, g, id, rear, P, v);
  ctx.save();
  ctx.transform(S, SH * S, 0, 1, 0, -SH * S * g.L);
  if (rear) {
    ctx.translate(g.L, 0);
    ctx.scale(-1, 1);
  }
  drawSide(ctx, g, id, px / S);
  ctx.restore();
  // near face in the parallelogram spanned by v at the near end (face x ∈ [−W/2, W/2] → along v)
  const n = P(rear ? 0 : g.L, 0);
  ctx.save();
  ctx.transform(v[0] / g.W, v[1] / g.W, 0, 1, n[0] + v[0] / 2, n[1] + v[1] / 2);
  if (g.kind === 'bus' || g.kind === 'truck') drawFace(ctx, g, id, rear);
  else drawFacePanel(ctx, g, id, rear);
  ctx.restore();
}
