/**
 * Synthetic vehicle world: captions and attribute records for CLIP-style pretraining. A caption names the
 * colour, the type, up to {@link MAX_CAPTION_DETAILS} details that are visible from the image's view (in a fixed
 * priority order), and the view: "a red SUV with a roof rack and chrome bumpers, seen from the front".
 */
import { TYPE_NOUNS, type VehicleDetails, type VehicleIdentity, type View } from './world-spec';

/** Details a caption may mention. */
export type DetailName = 'roofRack' | 'sunroof' | 'spoiler' | 'tint' | 'decal' | 'bumper' | 'wheels';

/** At most this many details per caption. */
export const MAX_CAPTION_DETAILS = 3;

const THREE_QUARTER: readonly View[] = ['front-three-quarter', 'rear-three-quarter'];

/** Which views show a detail (an absent detail is never visible). */
function isVisible(name: DetailName, d: VehicleDetails, view: View): boolean {
  const side = view === 'side' || THREE_QUARTER.includes(view);
  switch (name) {
    case 'roofRack':
      return d.roofRack;
    case 'sunroof':
      return d.sunroof && view !== 'side';
    case 'spoiler':
      return d.spoiler && view !== 'front' && view !== 'front-three-quarter';
    case 'tint':
      return d.tint !== 'none';
    case 'decal':
      if (d.decal === 'hood-stripes') return view === 'front' || view === 'front-three-quarter';
      return d.decal !== 'none' && side;
    case 'bumper':
      return d.bumper !== 'body';
    case 'wheels':
      return (d.wheels === 'chrome' || d.wheels === 'solid') && side;
  }
}

/** Caption phrase of a detail. */
export function detailPhrase(name: DetailName, d: VehicleDetails): string {
  switch (name) {
    case 'roofRack':
      return 'a roof rack';
    case 'sunroof':
      return 'a sunroof';
    case 'spoiler':
      return 'a rear spoiler';
    case 'tint':
      return d.tint === 'dark' ? 'dark tinted windows' : 'lightly tinted windows';
    case 'decal':
      return d.decal === 'side-stripe' ? 'a side stripe' : d.decal === 'hood-stripes' ? 'racing stripes on the hood' : 'a logo on the door';
    case 'bumper':
      return d.bumper === 'black' ? 'black bumpers' : 'chrome bumpers';
    case 'wheels':
      return d.wheels === 'chrome' ? 'chrome wheels' : 'black wheels';
  }
}

const PRIORITY: readonly DetailName[] = ['roofRack', 'sunroof', 'spoiler', 'decal', 'bumper', 'tint', 'wheels'];

/** Details visible from `view`, in caption priority order. */
export function visibleDetails(id: VehicleIdentity, view: View): DetailName[] {
  return PRIORITY.filter((n) => isVisible(n, id.details, view));
}

const VIEW_PHRASES: Record<View, string> = {
  front: 'seen from the front',
  rear: 'seen from the back',
  side: 'seen from the side',
  'front-three-quarter': 'seen from the front at an angle',
  'rear-three-quarter': 'seen from the back at an angle',
};

function joinPhrases(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** The caption of one image of `id` seen from `view`. */
export function captionFor(id: VehicleIdentity, view: View): string {
  const details = visibleDetails(id, view).slice(0, MAX_CAPTION_DETAILS);
  const article = /^[aeiou]/.test(id.colour) ? 'an' : 'a';
  const withPart = details.length > 0 ? ` with ${joinPhrases(details.map((n) => detailPhrase(n, id.details)))}` : '';
  return `${article} ${id.colour} ${TYPE_NOUNS[id.type]}${withPart}, ${VIEW_PHRASES[view]}`;
}

/** One line of `pretrain/captions.jsonl`. */
export interface CaptionRecord {
  /** Image path relative to the `pretrain/` folder (`images/<name>.jpg`). */
  readonly image: string;
  readonly vehicleId: number;
  readonly caption: string;
  readonly attributes: {
    readonly type: VehicleIdentity['type'];
    readonly colour: VehicleIdentity['colour'];
    readonly view: View;
    /** Details visible in this image (all of them, not only the ones the caption names). */
    readonly visible: DetailName[];
    readonly details: VehicleDetails;
  };
}

/** Build the caption record of one pretraining image. */
export function captionRecord(image: string, id: VehicleIdentity, view: View): CaptionRecord {
  return {
    image,
    vehicleId: id.vehicleId,
    caption: captionFor(id, view),
    attributes: { type: id.type, colour: id.colour, view, visible: visibleDetails(id, view), details: id.details },
  };
}
