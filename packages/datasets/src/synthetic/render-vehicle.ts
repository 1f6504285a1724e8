/**
 * Synthetic vehicle world: placing a vehicle in a view (front, rear, side, front/rear three-quarter) on a
 * canvas: fit the view's extent to the frame with the camera's scale and offset jitter, optionally mirrored.
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import { drawFace, faceExtent } from './render-face';
import { drawSide, sideExtent } from './render-side';
import { drawThreeQuarter, threeQuarterExtent } from './render-three-quarter';
import { GEOMETRY } from './vehicle-geometry';
import type { VehicleIdentity, View } from './world-spec';

/** Where the vehicle goes: its extent as a fraction of the frame, centre offset and mirroring. */
export interface Placement {
  /** Canvas size in pixels (square). */
  readonly size: number;
  /** Longest vehicle side as a fraction of the frame. */
  readonly extent: number;
  /** Centre offset in pixels. */
  readonly dx: number;
  readonly dy: number;
  /** Mirror horizontally (vehicle faces left). */
  readonly mirror: boolean;
}

/** Bounding box of a view in metres: [width, height]. */
function viewExtent(id: VehicleIdentity, view: View): [number, number] {
  const g = GEOMETRY[id.type];
  const [sw, sh] = sideExtent(g);
  const [fw, fh] = faceExtent(g);
  if (view === 'side') return [sw, sh];
  if (view === 'front' || view === 'rear') return [fw, fh];
  return threeQuarterExtent(g);
}

/** Draw a soft ground shadow spanning `w` metres around x = cx (metres, current transform). */
function shadow(ctx: SKRSContext2D, cx: number, w: number): void {
  ctx.fillStyle = 'rgba(0,0,0,0.35)';
  ctx.beginPath();
  ctx.ellipse(cx, 0.02, w / 2 + 0.15, 0.16, 0, 0, Math.PI * 2);
  ctx.fill();
}

/**
 * Draw `id` from `view` with the given placement. The caller owns the canvas state outside this call
 * (the transform is saved and restored).
 */
export function drawVehicle(ctx: SKRSContext2D, id: VehicleIdentity, view: View, p: Placement): void {
  const g = GEOMETRY[id.type];
  const [bw, bh] = viewExtent(id, view);
  const scale = (p.extent * p.size) / Math.max(bw, bh * 1.15);
  const px = 1 / scale;
  ctx.save();
  // metres → pixels; origin at the left end of the bounding box on the ground line
  ctx.translate(p.size / 2 + p.dx, p.size / 2 + p.dy + (bh * scale) / 2);
  if (p.mirror) ctx.scale(-1, 1);
  ctx.scale(scale, scale);
  ctx.translate(-bw / 2, 0);
  if (view === 'side') {
    shadow(ctx, g.L / 2, g.L);
    drawSide(ctx, g, id, px);
  } else if (view === 'front' || view === 'rear') {
    shadow(ctx, bw / 2, g.W);
    ctx.translate(bw / 2, 0);
    drawFace(ctx, g, id, view === 'rear');
  } else {
    drawThreeQuarter(ctx, g, id, view === 'rear-three-quarter', px);
  }
  ctx.restore();
}
