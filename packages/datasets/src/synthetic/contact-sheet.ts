/**
 * Contact sheet of a synthetic world: a PNG grid, one row per identity (rows of the same type + colour model
 * next to each other, so the differing details are easy to compare), one column per image of that identity
 * (different cameras), with a label column naming the id, colour and type.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image, createCanvas } from '@napi-rs/canvas';
import { writeFileAtomic } from '@clip-senet/core';
import { TYPE_NOUNS, type VehicleIdentity } from './world-spec';

/** Options of {@link writeContactSheet}. */
export interface ContactSheetOptions {
  /** Identity rows (default 12). */
  readonly rows?: number;
  /** Images per row (default 8). */
  readonly cols?: number;
  /** Cell side in pixels (default 80; images are scaled to it). */
  readonly cell?: number;
}

/** Write a contact sheet PNG of the world at `root` to `outPath` (atomically); returns the PNG size in bytes. */
export function writeContactSheet(root: string, outPath: string, options: ContactSheetOptions = {}): number {
  const rows = options.rows ?? 12;
  const cols = options.cols ?? 8;
  const cell = options.cell ?? 80;
  const identities = JSON.parse(readFileSync(join(root, 'identities.json'), 'utf8')) as VehicleIdentity[];
  const names = readFileSync(join(root, 'name_train.txt'), 'utf8').split('\n').filter((l) => l !== '');
  const byId = new Map<number, string[]>();
  for (const n of names) {
    const id = Number(n.slice(0, 4));
    const list = byId.get(id) ?? [];
    // one image per camera first, so a row shows as many cameras as possible
    if (!list.some((m) => m.slice(5, 9) === n.slice(5, 9))) list.push(n);
    byId.set(id, list);
  }
  const chosen = identities.filter((i) => byId.has(i.vehicleId)).slice(0, rows);
  const labelW = 120;
  const canvas = createCanvas(labelW + cols * cell, chosen.length * cell);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  chosen.forEach((id, r) => {
    ctx.fillStyle = '#111111';
    ctx.font = '13px "DejaVu Sans"';
    ctx.fillText(`id ${id.vehicleId}`, 6, r * cell + cell / 2 - 8);
    ctx.fillText(`${id.colour} ${TYPE_NOUNS[id.type]}`, 6, r * cell + cell / 2 + 10);
    byId
      .get(id.vehicleId)!
      .slice(0, cols)
      .forEach((name, c) => {
        const img = new Image();
        img.src = readFileSync(join(root, 'image_train', name));
        ctx.drawImage(img, labelW + c * cell, r * cell, cell, cell);
      });
  });
  const png = canvas.encodeSync('png');
  writeFileAtomic(outPath, png);
  return png.byteLength;
}
