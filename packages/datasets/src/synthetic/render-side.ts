/**
 * Synthetic vehicle world: the side profile of a vehicle (facing +x), drawn in metres on a canvas whose
 * transform maps metres to pixels with y pointing down (ground at y = 0, heights negative).
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import { type Geometry, type RGB, bumperColour, css, glassColour } from './vehicle-geometry';
import type { VehicleIdentity } from './world-spec';

type Ctx = SKRSContext2D;

function poly(ctx: Ctx, pts: readonly (readonly [number, number])[]): void {
  ctx.beginPath();
  pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, -y) : ctx.lineTo(x, -y)));
  ctx.closePath();
}

/** Lower body outline (heights positive in `pts`, flipped when drawn). */
function bodyOutline(g: Geometry): [number, number][] {
  const { L, clearance: c, rearH, frontH, belt } = g;
  const [rb, , , fb] = g.cabin;
  if (g.kind === 'bus') return [[0, c], [0, g.roofH - 0.1], [0.15, g.roofH], [L - 0.3, g.roofH], [L, g.roofH - 0.3], [L, c]];
  if (g.kind === 'truck') return [[fb - 1.75, c], [fb - 1.75, belt], [fb, belt], [L - 0.1, frontH], [L, frontH - 0.15], [L, c]];
  return [[0.05, c], [0, c + 0.12], [0, rearH - 0.08], [0.12, rearH], [rb, belt], [fb, belt], [L - 0.2, frontH], [L, frontH - 0.1], [L, c + 0.12], [L - 0.05, c]];
}

function drawWheel(ctx: Ctx, x: number, r: number, d: VehicleIdentity['details']): void {
  ctx.fillStyle = '#111214';
  ctx.beginPath();
  ctx.arc(x, -r, r, 0, Math.PI * 2);
  ctx.fill();
  const rim = r * 0.62;
  ctx.fillStyle = d.wheels === 'chrome' ? '#e4e6ea' : d.wheels === 'solid' ? '#3a3c40' : '#a9adb3';
  ctx.beginPath();
  ctx.arc(x, -r, rim, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = '#1c1d20';
  if (d.wheels === 'spokes') {
    for (let k = 0; k < 5; k++) {
      const a = (k * 2 * Math.PI) / 5;
      ctx.beginPath();
      ctx.moveTo(x, -r);
      ctx.arc(x, -r, rim * 0.9, a + 0.25, a + 0.95);
      ctx.closePath();
      ctx.fill();
    }
  } else if (d.wheels === 'five-hole') {
    for (let k = 0; k < 5; k++) {
      const a = (k * 2 * Math.PI) / 5;
      ctx.beginPath();
      ctx.arc(x + Math.cos(a) * rim * 0.55, -r + Math.sin(a) * rim * 0.55, rim * 0.18, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  ctx.fillStyle = '#55585e';
  ctx.beginPath();
  ctx.arc(x, -r, rim * 0.2, 0, Math.PI * 2);
  ctx.fill();
}

function drawCabin(ctx: Ctx, g: Geometry, id: VehicleIdentity, px: number): void {
  const d = id.details;
  const [rb, rr, rf, fb] = g.cabin;
  const glass = glassColour(d.tint);
  if (g.kind === 'bus') {
    ctx.fillStyle = css(glass);
    poly(ctx, [[0.3, g.belt], [0.3, g.roofH - 0.35], [g.L - 0.15, g.roofH - 0.35], [g.L - 0.05, g.belt]]);
    ctx.fill();
    ctx.fillStyle = css(id.rgb);
    for (let x = 1.4; x < g.L - 0.8; x += 1.25) ctx.fillRect(x, -(g.roofH - 0.35), 0.12, g.roofH - 0.35 - g.belt);
    return;
  }
  ctx.fillStyle = css(id.rgb);
  poly(ctx, [[rb, g.belt - 0.02], [rr, g.roofH], [rf, g.roofH], [fb, g.belt - 0.02]]);
  ctx.fill();
  const ins = 0.09;
  const grad = ctx.createLinearGradient(0, -g.roofH, 0, -g.belt);
  grad.addColorStop(0, css(glass, 1.25));
  grad.addColorStop(1, css(glass, 0.85));
  ctx.fillStyle = grad;
  poly(ctx, [[rb + ins * 1.6, g.belt + ins * 0.6], [rr + ins, g.roofH - ins], [rf - ins * 0.6, g.roofH - ins], [fb - ins * 1.6, g.belt + ins * 0.6]]);
  ctx.fill();
  // B-pillar (and C-pillar for long cabins)
  ctx.fillStyle = css(id.rgb, 0.8);
  const mid = (rr + rf) / 2 + 0.1;
  ctx.fillRect(mid - 0.05, -g.roofH, 0.1, g.roofH - g.belt);
  if (rf - rr > 2.4) ctx.fillRect(rr + (rf - rr) * 0.22, -g.roofH, 0.1, g.roofH - g.belt);
  ctx.lineWidth = px;
  ctx.strokeStyle = css(id.rgb, 0.55);
  ctx.beginPath();
  ctx.moveTo(mid, -g.belt);
  ctx.lineTo(mid, -(g.clearance + 0.2));
  ctx.stroke();
}

function drawRoofItems(ctx: Ctx, g: Geometry, id: VehicleIdentity): void {
  const d = id.details;
  const [, rr, rf] = g.cabin;
  if (d.roofRack) {
    ctx.fillStyle = '#202124';
    ctx.fillRect(rr + 0.1, -(g.roofH + 0.2), rf - rr - 0.2, 0.08);
    for (const x of [rr + 0.2, (rr + rf) / 2, rf - 0.3]) ctx.fillRect(x, -(g.roofH + 0.2), 0.09, 0.2);
  }
  if (d.spoiler && g.kind === 'car') {
    ctx.fillStyle = css(id.rgb, 0.7);
    ctx.fillRect(0.05, -(g.rearH + 0.2), 0.5, 0.08);
    ctx.fillRect(0.3, -(g.rearH + 0.2), 0.08, 0.2);
  }
}

function drawDecal(ctx: Ctx, g: Geometry, id: VehicleIdentity): void {
  const d = id.details;
  ctx.fillStyle = css(d.decalRgb);
  const lo = g.clearance + g.wheelR * 1.2;
  if (d.decal === 'side-stripe') {
    const y = (lo + Math.min(g.belt, g.frontH)) / 2;
    ctx.fillRect(0.25, -(y + 0.08), g.L - 0.5, 0.16);
  } else if (d.decal === 'door-logo') {
    const [, rr, rf] = g.cabin;
    ctx.beginPath();
    const cx = g.kind === 'bus' || g.kind === 'truck' ? g.L * 0.4 : (rr + rf) / 2 + 0.6;
    const r = g.kind === 'bus' || g.kind === 'truck' ? 0.5 : 0.2;
    ctx.arc(cx, -(lo + g.belt) / 2, r, 0, Math.PI * 2);
    ctx.fill();
  } else if (d.decal === 'hood-stripes') {
    const [, , , fb] = g.cabin;
    ctx.fillRect(fb, -(g.belt + 0.02), g.L - fb - 0.2, 0.08);
  }
}

function drawLightsAndBumpers(ctx: Ctx, g: Geometry, id: VehicleIdentity): void {
  const bump = bumperColour(id.details, id.rgb);
  const c = g.clearance;
  ctx.fillStyle = css(bump);
  ctx.fillRect(-0.04, -(c + 0.32), 0.45, 0.3);
  ctx.fillRect(g.L - 0.45, -(c + 0.32), 0.49, 0.3);
  ctx.fillStyle = '#f4f0d8';
  ctx.fillRect(g.L - 0.22, -(g.frontH - 0.06), 0.22, 0.15);
  ctx.fillStyle = '#c81818';
  const tailTop = g.kind === 'truck' || g.kind === 'bus' ? 1.2 : g.rearH - 0.06;
  ctx.fillRect(0, -tailTop, 0.14, 0.2);
}

function drawTruckBody(ctx: Ctx, g: Geometry, id: VehicleIdentity): void {
  const box = g.cabin[0] - 0.2;
  ctx.fillStyle = id.colour === 'white' ? '#d7d8d4' : '#e9e9e6';
  ctx.fillRect(0, -g.rearH, box, g.rearH - g.clearance - 0.25);
  ctx.strokeStyle = 'rgba(0,0,0,0.25)';
  ctx.lineWidth = 0.05;
  ctx.strokeRect(0, -g.rearH, box, g.rearH - g.clearance - 0.25);
  ctx.fillStyle = '#2a2b2e';
  ctx.fillRect(0, -(g.clearance + 0.3), g.L, 0.15);
}

function drawPickupBed(ctx: Ctx, g: Geometry, id: VehicleIdentity): void {
  ctx.fillStyle = css(id.rgb, 0.85);
  ctx.fillRect(0.05, -(g.rearH + 0.02), g.cabin[0] - 0.1, 0.08);
}

/** Draw the side profile facing +x; `px` is one pixel in metres (for hairlines). */
export function drawSide(ctx: Ctx, g: Geometry, id: VehicleIdentity, px: number): void {
  if (g.kind === 'truck') drawTruckBody(ctx, g, id);
  drawRoofItems(ctx, g, id);
  drawCabin(ctx, g, id, px);
  ctx.fillStyle = css(id.rgb);
  poly(ctx, bodyOutline(g));
  ctx.fill();
  // Shading: lighter shoulder, darker rocker panel.
  const grad = ctx.createLinearGradient(0, -g.belt, 0, -g.clearance);
  grad.addColorStop(0, 'rgba(255,255,255,0.18)');
  grad.addColorStop(0.5, 'rgba(255,255,255,0)');
  grad.addColorStop(1, 'rgba(0,0,0,0.3)');
  ctx.fillStyle = grad;
  poly(ctx, bodyOutline(g));
  ctx.fill();
  if (g.kind === 'bus') drawCabin(ctx, g, id, px);
  if (g.kind === 'pickup') drawPickupBed(ctx, g, id);
  drawDecal(ctx, g, id);
  drawLightsAndBumpers(ctx, g, id);
  // wheel arches, then wheels
  ctx.fillStyle = '#0c0c0e';
  for (const x of g.wheelX) {
    ctx.beginPath();
    ctx.arc(x, -g.wheelR, g.wheelR * 1.18, Math.PI, 0);
    ctx.fill();
  }
  for (const x of g.wheelX) drawWheel(ctx, x, g.wheelR, id.details);
  // mirror
  if (g.kind !== 'bus') {
    ctx.fillStyle = css(id.rgb, 0.75);
    ctx.fillRect(g.cabin[3] - 0.2, -(g.belt + 0.18), 0.16, 0.14);
  }
}

/** Side extent in metres: [width, height] including roof items. */
export function sideExtent(g: Geometry): [number, number] {
  return [g.L, Math.max(g.roofH, g.rearH) + 0.22];
}

export type { RGB };
