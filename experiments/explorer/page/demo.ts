/**
 * The live demo page: pick a run with weights, then a query from the world's test split (or drop an image); the
 * page embeds it with the run's model on the chosen tfjs backend, ranks the build-time gallery features with the
 * same ranking as the Node side (rank.ts over metrics' distances) and shows the top-10 with distances.
 */
import type { DemoQuery, SiteData } from '../../src/explorer/site-types';
import { rankGallery } from '../../src/explorer/rank';
import { chooseBackend, type BackendChoice } from './backend';
import { decodeFile, embed, loadDemo, type LoadedDemo } from './demo-model';
import { el, missing } from './dom';
import { rankedRow } from './views';

let backend: Promise<BackendChoice> | undefined;
const loaded = new Map<string, Promise<LoadedDemo>>();

function backendLine(b: BackendChoice): HTMLElement {
  return el('div', { id: 'demo-backend', 'data-backend': b.name, class: 'status' }, 'tfjs backend: ', el('b', {}, b.name),
    b.refused.length > 0 ? el('span', { class: 'muted' }, ` — ${b.refused.join('; ')}${b.name === 'wasm' ? '; using the wasm fallback' : ''}`) : null);
}

/** The demo page (renders into the returned section as things load). */
export function demoView(site: SiteData): HTMLElement {
  const params = new URLSearchParams(location.search);
  const section = el('section', { id: 'demo' }, el('h1', {}, 'Live re-ID demo'));
  const status = el('div', { id: 'demo-status' }, el('div', { class: 'status' }, 'starting tfjs…'));
  const modelArea = el('div', { id: 'demo-model' });
  section.append(el('p', { class: 'muted' },
    'The run\'s CLIP-SENet runs in this page (the toolkit\'s own engine, backbones, afem and metrics packages, bundled for the browser). ' +
    'Gallery features were extracted at build time by the same code as `clip-senet eval`; the query is embedded here.'), status, modelArea);
  const available = site.demo.filter((d) => d.dir !== null);
  const runSelect = el('select', { id: 'demo-run' }, available.length === 0 ? el('option', { value: '', selected: true }, '— no run with weights —') : null, ...site.demo.map((d) => el('option', { value: d.id, disabled: d.dir === null, selected: d.id === (params.get('run') ?? available[0]?.id) },
    d.dir ? d.label : `${d.label} — no weights: ${d.missing ?? 'not exported'}`)));
  const unavailable = site.demo.filter((d) => d.dir === null);
  section.insertBefore(el('div', {}, el('label', {}, 'run: ', runSelect),
    unavailable.length > 0 ? el('details', { id: 'demo-unavailable' }, el('summary', {}, `${unavailable.length} run(s) without weights`),
      el('ul', {}, ...unavailable.map((d) => el('li', {}, `${d.label}: ${d.missing ?? ''}`)))) : null), status);
  if (available.length === 0) {
    modelArea.append(missing(`No run with weights in this build: ${site.demoMissing ?? 'none exported'}. The rest of the explorer works without it.`));
  }
  backend ??= chooseBackend(params.get('backend'));
  backend.then((b) => {
    status.replaceChildren(backendLine(b));
    if (available.length > 0) void showRun(runSelect.value);
  }, (err: Error) => status.replaceChildren(missing(err.message, 'error')));
  runSelect.addEventListener('change', () => void showRun(runSelect.value));

  async function showRun(id: string): Promise<void> {
    const entry = site.demo.find((d) => d.id === id);
    if (!entry?.dir) {
      modelArea.replaceChildren(missing(`Run ${id} has no weights: ${entry?.missing ?? 'unknown run'}`));
      return;
    }
    modelArea.replaceChildren(el('div', { class: 'status' }, `loading ${entry.label}…`));
    const dir = entry.dir;
    let demo: LoadedDemo;
    try {
      if (!loaded.has(id)) loaded.set(id, loadDemo(dir));
      demo = await loaded.get(id)!;
    } catch (err) {
      loaded.delete(id);
      modelArea.replaceChildren(missing(`Cannot load the run's export (${dir}): ${(err as Error).message}`, 'error'));
      return;
    }
    // one forward pass before timing queries: webgl / webgpu compile their shaders on the first call
    const q0 = demo.meta.queries[0];
    let warmup = '';
    if (q0) {
      const pixels = demo.queryPixels.subarray(q0.rgbOffset, q0.rgbOffset + q0.width * q0.height * 3);
      try {
        warmup = `First pass (incl. shader compilation / kernel set-up): ${(await embed(demo.model, { width: q0.width, height: q0.height, data: pixels }, q0, q0.path)).ms.toFixed(0)} ms`;
      } catch (err) {
        modelArea.replaceChildren(missing(`The model does not run on this backend: ${(err as Error).message}`, 'error'));
        return;
      }
    }
    renderRun(demo, warmup);
  }

  function renderRun(demo: LoadedDemo, warmup: string): void {
    const m = demo.meta;
    const timing = el('div', { id: 'demo-timing', class: 'status' });
    const check = el('div', { id: 'demo-check', class: 'status muted' });
    const results = el('div', { id: 'demo-results' });
    const error = el('div', { id: 'demo-error' });
    const queryButtons = m.queries.map((q, i) => el('button', { 'data-path': q.path, title: q.path, onclick: () => void runQuery(i) }, el('img', { src: q.image, alt: q.path })));
    const fileInput = el('input', { type: 'file', id: 'demo-file', accept: 'image/*' });
    const drop = el('div', { class: 'drop', id: 'demo-drop' }, 'Drop an image here, or choose one: ', fileInput);
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const f = e.dataTransfer?.files[0];
      if (f) void runFile(f);
    });
    fileInput.addEventListener('change', () => { const f = fileInput.files?.[0]; if (f) void runFile(f); });
    modelArea.replaceChildren(
      el('p', { class: 'muted' }, `Run ${m.label} (${m.runDir}), checkpoint ${m.checkpoint}; ${m.featureDim}-d features, protocol ${m.protocolId} (${m.metric} distance); gallery ${m.gallery.count} images (features extracted on ${m.buildBackend} at build time). ${warmup}.`),
      el('h3', {}, `Queries from the test split (${m.queries.length})`), el('div', { class: 'queries', id: 'demo-queries' }, ...queryButtons),
      drop, error, timing, check, results);

    const show = (feature: Float32Array, label: { id: number; cam: number } | undefined, query: { path: string; image: string | null }): void => {
      const ranked = rankGallery({ query: feature, gallery: demo.gallery, dim: m.featureDim, metric: m.metric, galleryIds: m.gallery.ids, galleryCams: m.gallery.cams, ...(label ? { label } : {}) });
      const entries = ranked.map((r) => ({ path: m.gallery.paths[r.index]!, mark: r.mark === 'unknown' ? 'wrong' as const : r.mark, image: m.gallery.images[r.index]!, distance: r.distance }));
      const row = rankedRow({ query: query.path, queryImage: query.image, gallery: entries });
      if (!label) row.querySelectorAll('.tile:not(.query) .mark').forEach((e, i) => { e.textContent = `#${i + 1}`; });
      results.replaceChildren(el('h3', {}, label ? 'Top-10 (junk — same vehicle, same camera — shown dashed, not counted)' : 'Top-10 (unknown identity: no correct / wrong marks)'), row);
    };

    async function runQuery(i: number): Promise<void> {
      const q: DemoQuery = m.queries[i]!;
      queryButtons.forEach((b, j) => b.classList.toggle('selected', i === j));
      error.replaceChildren();
      const image = { width: q.width, height: q.height, data: demo.queryPixels.subarray(q.rgbOffset, q.rgbOffset + q.width * q.height * 3) };
      try {
        const { feature, ms } = await embed(demo.model, image, q, q.path);
        const ref = demo.queryFeatures.subarray(i * m.featureDim, (i + 1) * m.featureDim);
        let maxDiff = 0;
        for (let k = 0; k < feature.length; k++) maxDiff = Math.max(maxDiff, Math.abs(feature[k]! - ref[k]!));
        const b = await backend!;
        timing.replaceChildren('embedding: ', el('b', { 'data-ms': ms.toFixed(2) }, `${ms.toFixed(1)} ms`), ` on ${b.name} (${q.path})`);
        check.textContent = `largest |difference| from the build-time Node feature of this query: ${maxDiff.toExponential(2)}`;
        check.dataset.maxDiff = String(maxDiff);
        show(feature, { id: q.vehicleId, cam: q.cameraId }, q);
        results.dataset.query = q.path;
      } catch (err) {
        error.replaceChildren(missing(`Embedding ${q.path} failed: ${(err as Error).message}`, 'error'));
      }
    }

    async function runFile(file: File): Promise<void> {
      error.replaceChildren();
      queryButtons.forEach((b) => b.classList.remove('selected'));
      try {
        const image = await decodeFile(file, file.name);
        const cv = (m.model as { fusion?: { cameraView?: { numCameras: number; numViews: number } | null } }).fusion?.cameraView;
        if (cv && (cv.numCameras > 0 || cv.numViews > 0)) throw new Error(`this run's model adds camera / view embeddings, and a dropped image has no camera or view id; pick a query from the test split`);
        const { feature, ms } = await embed(demo.model, image, { vehicleId: -1, cameraId: -1 }, file.name);
        const b = await backend!;
        timing.replaceChildren('embedding: ', el('b', { 'data-ms': ms.toFixed(2) }, `${ms.toFixed(1)} ms`), ` on ${b.name} (${file.name}, ${image.width}×${image.height})`);
        check.textContent = '';
        show(feature, undefined, { path: file.name, image: URL.createObjectURL(file) });
        results.dataset.query = file.name;
      } catch (err) {
        results.replaceChildren();
        error.replaceChildren(missing((err as Error).message, 'error'));
      }
    }
  }
  return section;
}
