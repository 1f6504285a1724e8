/**
 * Synthetic vehicle world: the front or rear face of a vehicle as seen by a slightly elevated camera (the hood /
 * trunk and the roof show as bands above the face). Drawn in metres, x ∈ [−W/2, W/2], y down (ground at 0).
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import { type Geometry, type RGB, bumperColour, css, glassColour } from './vehicle-geometry';
import type { VehicleIdentity } from './world-spec';

type Ctx = SKRSContext2D;

/** Heights (positive up) of the bands of a face. */
interface FaceLayout {
  /** Top of the front/rear panel (grille or tail). */
  readonly panel: number;
  /** Top of the hood / trunk band = bottom of the windshield / rear window. */
  readonly deck: number;
  /** Bottom and top of the roof band. */
  readonly roofBase: number;
  readonly roofTop: number;
  /** Half-widths at the deck and at the roof. */
  readonly deckHalf: number;
  readonly roofHalf: number;
}

function layout(g: Geometry, rear: boolean): FaceLayout {
  const boxy = g.kind === 'bus' || g.kind === 'truck';
  const panel = rear ? g.rearH : g.frontH;
  const e = boxy ? 0.08 : g.kind === 'pickup' && rear ? 0.1 : 0.32;
  const deck = boxy ? (rear ? g.belt : g.belt - 0.1) : panel + e;
  const roofBase = boxy ? g.roofH - 0.15 : g.roofH + e * 0.4;
  return {
    panel,
    deck,
    roofBase,
    roofTop: roofBase + (boxy ? 0.15 : e * 0.7),
    deckHalf: g.W * (boxy ? 0.47 : 0.43),
    roofHalf: g.W * (boxy ? 0.47 : 0.36),
  };
}

function quad(ctx: Ctx, x0: number, x1: number, yLo: number, x2: number, x3: number, yHi: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, -yLo);
  ctx.lineTo(x1, -yLo);
  ctx.lineTo(x3, -yHi);
  ctx.lineTo(x2, -yHi);
  ctx.closePath();
}

function drawPlate(ctx: Ctx, text: string, y: number, w: number): void {
  const h = w * 0.27;
  ctx.fillStyle = '#f2f2ee';
  ctx.fillRect(-w / 2, -(y + h / 2), w, h);
  ctx.fillStyle = '#15161a';
  ctx.font = `bold ${(h * 0.8).toFixed(3)}px "DejaVu Sans Mono"`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  // keep the text readable when the face is drawn in a mirrored frame
  const m = ctx.getTransform();
  ctx.save();
  if (m.a * m.d - m.b * m.c < 0) ctx.scale(-1, 1);
  ctx.fillText(text, 0, -y + h * 0.04, w * 0.94);
  ctx.restore();
}

function drawUpper(ctx: Ctx, g: Geometry, id: VehicleIdentity, f: FaceLayout, rear: boolean): void {
  const d = id.details;
  const half = g.W / 2;
  // deck (hood / trunk seen from above)
  ctx.fillStyle = css(id.rgb, 1.08);
  quad(ctx, -half * 0.97, half * 0.97, f.panel, -f.deckHalf * 1.05, f.deckHalf * 1.05, f.deck);
  ctx.fill();
  // window
  const glass = glassColour(rear && d.tint === 'none' ? 'light' : d.tint);
  const grad = ctx.createLinearGradient(0, -f.roofBase, 0, -f.deck);
  grad.addColorStop(0, css(glass, 1.3));
  grad.addColorStop(1, css(glass, 0.8));
  ctx.fillStyle = css(id.rgb, 0.9);
  quad(ctx, -f.deckHalf * 1.05, f.deckHalf * 1.05, f.deck, -f.roofHalf * 1.05, f.roofHalf * 1.05, f.roofBase);
  ctx.fill();
  ctx.fillStyle = grad;
  const winTop = rear && g.kind === 'bus' ? f.deck + (f.roofBase - f.deck) * 0.45 : f.roofBase - 0.05;
  quad(ctx, -f.deckHalf * 0.93, f.deckHalf * 0.93, f.deck + 0.05, -f.roofHalf * 0.92, f.roofHalf * 0.92, winTop);
  ctx.fill();
  // roof band
  ctx.fillStyle = css(id.rgb, 1.12);
  quad(ctx, -f.roofHalf * 1.05, f.roofHalf * 1.05, f.roofBase, -f.roofHalf * 0.92, f.roofHalf * 0.92, f.roofTop);
  ctx.fill();
  if (d.sunroof) {
    ctx.fillStyle = '#141519';
    quad(ctx, -f.roofHalf * 0.5, f.roofHalf * 0.5, f.roofBase + 0.04, -f.roofHalf * 0.45, f.roofHalf * 0.45, f.roofTop - 0.03);
    ctx.fill();
  }
  if (d.roofRack) {
    ctx.fillStyle = '#202124';
    for (const s of [-1, 1]) {
      quad(ctx, s * f.roofHalf * 0.98, s * f.roofHalf * 0.86, f.roofBase + 0.02, s * f.roofHalf * 0.9, s * f.roofHalf * 0.78, f.roofTop + 0.12);
      ctx.fill();
    }
    ctx.fillRect(-f.roofHalf * 0.9, -(f.roofTop + 0.1), f.roofHalf * 1.8, 0.06);
  }
  if (d.decal === 'hood-stripes' && !rear) {
    ctx.fillStyle = css(d.decalRgb);
    for (const s of [-1, 1]) {
      quad(ctx, s * 0.08, s * 0.22, f.panel, s * 0.07, s * 0.19, f.deck);
      ctx.fill();
    }
  }
}

function drawPanel(ctx: Ctx, g: Geometry, id: VehicleIdentity, f: FaceLayout, rear: boolean): void {
  const d = id.details;
  const half = g.W / 2;
  const c = g.clearance;
  // tyres peeking below the body
  ctx.fillStyle = '#0d0d0f';
  ctx.fillRect(-half + 0.06, -(c + 0.12), 0.28, c + 0.12);
  ctx.fillRect(half - 0.34, -(c + 0.12), 0.28, c + 0.12);
  // panel
  ctx.fillStyle = css(id.rgb);
  ctx.beginPath();
  ctx.roundRect(-half, -f.panel, g.W, f.panel - c, 0.1);
  ctx.fill();
  const shade = ctx.createLinearGradient(0, -f.panel, 0, -c);
  shade.addColorStop(0, 'rgba(255,255,255,0.12)');
  shade.addColorStop(1, 'rgba(0,0,0,0.28)');
  ctx.fillStyle = shade;
  ctx.fill();
  const lightY = f.panel - 0.12;
  if (rear) {
    ctx.fillStyle = '#c51616';
    ctx.fillRect(-half + 0.04, -lightY, 0.34, 0.17);
    ctx.fillRect(half - 0.38, -lightY, 0.34, 0.17);
    if (g.kind === 'truck') {
      ctx.strokeStyle = 'rgba(0,0,0,0.45)';
      ctx.lineWidth = 0.04;
      ctx.beginPath();
      ctx.moveTo(0, -f.panel);
      ctx.lineTo(0, -(c + 0.5));
      ctx.stroke();
    }
  } else {
    ctx.fillStyle = '#1b1c1f';
    ctx.fillRect(-half * 0.5, -(lightY + 0.02), g.W * 0.5, 0.24);
    ctx.fillStyle = '#f5f1dc';
    ctx.fillRect(-half + 0.06, -lightY, 0.36, 0.14);
    ctx.fillRect(half - 0.42, -lightY, 0.36, 0.14);
  }
  ctx.fillStyle = css(bumperColour(d, id.rgb), d.bumper === 'body' ? 0.85 : 1);
  ctx.fillRect(-half - 0.02, -(c + 0.26), g.W + 0.04, 0.2);
  drawPlate(ctx, d.plate, c + 0.42, 0.52);
  if (rear && d.spoiler && g.kind === 'car') {
    ctx.fillStyle = css(id.rgb, 0.65);
    ctx.fillRect(-f.deckHalf * 1.02, -(f.deck + 0.12), f.deckHalf * 2.04, 0.09);
    ctx.fillRect(-f.deckHalf * 0.7, -(f.deck + 0.12), 0.07, 0.14);
    ctx.fillRect(f.deckHalf * 0.7 - 0.07, -(f.deck + 0.12), 0.07, 0.14);
  }
}

function drawMirrors(ctx: Ctx, g: Geometry, id: VehicleIdentity, f: FaceLayout): void {
  if (g.kind === 'bus') return;
  ctx.fillStyle = css(id.rgb, 0.7);
  const y = f.deck + 0.12;
  ctx.fillRect(-f.deckHalf - 0.28, -(y + 0.13), 0.2, 0.13);
  ctx.fillRect(f.deckHalf + 0.08, -(y + 0.13), 0.2, 0.13);
}

/** Draw the front (`rear = false`) or rear face centred at x = 0. */
export function drawFace(ctx: Ctx, g: Geometry, id: VehicleIdentity, rear: boolean): void {
  const f = layout(g, rear);
  if (g.kind === 'truck' && !rear) {
    // cargo box behind the cab, taller and as wide
    ctx.fillStyle = '#dcdcd8';
    ctx.fillRect(-g.W / 2, -(g.rearH + 0.2), g.W, g.rearH - g.roofH + 0.4);
  }
  if (g.kind === 'truck' && rear) {
    const box = { ...g, kind: 'bus' as const };
    ctx.fillStyle = '#e3e3df';
    ctx.fillRect(-g.W / 2, -g.rearH, g.W, g.rearH - g.clearance - 0.2);
    drawPanel(ctx, box, { ...id, rgb: [226, 226, 222] }, { ...f, panel: 1.3 }, true);
    return;
  }
  drawUpper(ctx, g, id, f, rear);
  drawMirrors(ctx, g, id, f);
  drawPanel(ctx, g, id, f, rear);
}

/** Only the lower panel of a face (lights, grille, plate, bumper, spoiler), for three-quarter views. */
export function drawFacePanel(ctx: Ctx, g: Geometry, id: VehicleIdentity, rear: boolean): void {
  drawPanel(ctx, g, id, layout(g, rear), rear);
}

/** Face extent in metres: [width, height] including mirrors and roof items. */
export function faceExtent(g: Geometry): [number, number] {
  const f = layout(g, false);
  return [g.W + 0.6, Math.max(f.roofTop + 0.15, g.kind === 'truck' ? g.rearH + 0.2 : 0)];
}

export type { RGB };
