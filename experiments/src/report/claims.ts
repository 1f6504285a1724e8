/**
 * The paper's claims checked against our runs: for each claim (AFEM helps, G = 32 is best, SupCon beats triplet,
 * ResNeXt101 is the best backbone, camera/view embeddings help), the comparisons in the committed ablation records
 * that test it, each a paired-by-seed Δ mAP with its 95 % interval ({@link pairedDelta}), and a verdict: "agrees"
 * (every comparison's interval excludes 0 on the paper's side), "disagrees" (one excludes 0 on the other side),
 * "cannot tell" (otherwise), or "not run". Computed from the records alone, so regeneration is byte-identical.
 */
import { stringify } from 'csv-stringify/sync';
import type { AblationRecord } from '../ablation/summary';
import { csvNum, fmtDelta, fmtPairedDelta, mdCell, mdTable, pairedDelta, type PairedDelta } from './stats';

/** One comparison that tests a claim: `better` should beat `worse` in ablation `ablation`. */
export interface ClaimComparison {
  readonly ablation: string;
  readonly better: string;
  readonly worse: string;
}

/** A claim of the paper, with the comparisons of our grids that test it. */
export interface PaperClaim {
  readonly id: string;
  readonly statement: string;
  /** Where the paper makes it. */
  readonly evidence: string;
  readonly comparisons: readonly ClaimComparison[];
}

const others = (ablation: string, best: string, rest: readonly string[]): ClaimComparison[] => rest.map((worse) => ({ ablation, better: best, worse }));

/** The claims, in the order the page lists them (variant names as in experiments/configs/ablations/*.yaml). */
export const PAPER_CLAIMS: readonly PaperClaim[] = [
  {
    id: 'afem-helps', statement: 'AFEM improves on the raw CLIP feature', evidence: 'Table IV rows 2–3 (+4.1 mAP)',
    comparisons: [{ ablation: 'main', better: '+SEM+AFEM', worse: '+SEM' }, { ablation: 'components', better: '+SEM+AFEM', worse: '+SEM' }],
  },
  {
    id: 'groups-32-best', statement: 'G = 32 AFEM groups is the best choice', evidence: 'Table V',
    comparisons: others('afem-groups', 'G=32', ['G=4', 'G=8', 'G=16', 'G=64', 'G=128']),
  },
  {
    id: 'supcon-beats-triplet', statement: 'SupCon beats triplet as the metric loss', evidence: 'Fig. 3 (every epoch)',
    comparisons: [{ ablation: 'metric-loss', better: 'baseline-supcon', worse: 'baseline-triplet' }, { ablation: 'metric-loss', better: 'full-supcon', worse: 'full-triplet' }],
  },
  {
    id: 'resnext101-best', statement: 'ResNeXt101-IBN-a is the best CNN backbone', evidence: 'Table VI',
    comparisons: others('backbones', 'resnext101-ibn-a', ['resnet50-ibn-a', 'resnet101-ibn-a', 'se-resnet101-ibn-a']),
  },
  {
    id: 'camera-view-helps', statement: 'camera and view embeddings help', evidence: 'Table IV row 4 (+CV)',
    comparisons: [{ ablation: 'components', better: '+CV', worse: '+SEM+AFEM' }],
  },
];

/** What one comparison found in one record. */
export interface ComparisonResult {
  readonly comparison: ClaimComparison;
  /** `<ablation>/<profile>` of the record it was computed from. */
  readonly source: string;
  /** Absent when no seed finished on both sides (or a variant is missing from the record). */
  readonly delta?: PairedDelta;
  readonly note?: string;
}

/** Verdict of a claim. */
export type ClaimVerdict = 'agrees' | 'disagrees' | 'cannot tell' | 'not run';

/** A claim with its comparisons' results and the verdict. */
export interface ClaimResult {
  readonly claim: PaperClaim;
  readonly results: readonly ComparisonResult[];
  readonly verdict: ClaimVerdict;
}

/** mAP in % of `variant`'s finished runs, by seed. */
function mapBySeed(record: AblationRecord, variant: string): Map<number, number> {
  return new Map(record.runs.filter((r) => r.variant === variant && r.summary !== null).map((r) => [r.seed, r.summary!.metrics.mAP * 100]));
}

/** Paired Δ mAP of `better − worse` over the seeds both finished in `record`. */
export function compareInRecord(record: AblationRecord, comparison: ClaimComparison): ComparisonResult {
  const source = `${record.ablation}/${record.profile}`;
  const missing = [comparison.better, comparison.worse].filter((v) => !record.variants.some((x) => x.name === v));
  if (missing.length > 0) return { comparison, source, note: `variant ${missing.map((m) => `\`${m}\``).join(', ')} not in the record` };
  const a = mapBySeed(record, comparison.better);
  const b = mapBySeed(record, comparison.worse);
  const pairs = [...a].filter(([seed]) => b.has(seed)).map(([seed, v]) => ({ variant: v, baseline: b.get(seed)! }));
  const delta = pairedDelta(pairs);
  return delta ? { comparison, source, delta } : { comparison, source, note: 'no seed finished on both sides' };
}

/** Verdict from the comparisons' intervals (see the module comment). */
export function claimVerdict(results: readonly ComparisonResult[]): ClaimVerdict {
  const deltas = results.flatMap((r) => (r.delta ? [r.delta] : []));
  if (deltas.length === 0) return 'not run';
  if (deltas.some((d) => d.hi !== undefined && d.hi < 0)) return 'disagrees';
  // every comparison of the claim must have been run and decided in the paper's direction
  if (deltas.length === results.length && deltas.every((d) => d.lo !== undefined && d.lo > 0)) return 'agrees';
  return 'cannot tell';
}

/** Every claim against every record of its ablations (all profiles; records in the order given). */
export function checkClaims(records: readonly AblationRecord[], claims: readonly PaperClaim[] = PAPER_CLAIMS): ClaimResult[] {
  return claims.map((claim) => {
    const results = claim.comparisons.flatMap((c) => {
      const rs = records.filter((r) => r.ablation === c.ablation);
      return rs.length === 0 ? [{ comparison: c, source: `${c.ablation}/—`, note: 'no record of this ablation' }] : rs.map((r) => compareInRecord(r, c));
    });
    return { claim, results, verdict: claimVerdict(results) };
  });
}

/** One sentence on how the verdicts are reached (printed under the table). */
export const CLAIMS_METHOD =
  'Each comparison is the paired-by-seed Δ mAP (better − worse, in points) with its 95% t-interval over the seeds both variants finished; ' +
  'a claim "agrees" when every comparison testing it excludes 0 on the paper\'s side, "disagrees" when any excludes 0 on the other side, ' +
  'and otherwise "cannot tell". Runs on the embedded synthetic world test the direction of a claim, not the paper\'s numbers.';

/** The Markdown section of the paper-tables page. */
export function claimsMarkdown(results: readonly ClaimResult[]): string {
  const rows = results.flatMap((r) =>
    r.results.map((c, i) => [
      i === 0 ? mdCell(r.claim.statement) : '',
      i === 0 ? mdCell(r.claim.evidence) : '',
      `\`${c.comparison.better}\` − \`${c.comparison.worse}\` (${c.source})`,
      c.delta ? `${fmtDelta(c.delta.mean)} ${fmtPairedDelta(c.delta)}` : mdCell(c.note ?? 'not run'),
      i === 0 ? `**${r.verdict}**` : '',
    ]),
  );
  return `## The paper's claims on our runs\n\n${mdTable(['claim', 'paper', 'comparison (source)', 'Δ mAP and 95% CI', 'verdict'], rows)}\n\n${CLAIMS_METHOD}\n`;
}

/** The claims as CSV (one row per comparison; Δ in points, full precision). */
export function claimsCsv(results: readonly ClaimResult[]): string {
  const header = ['claim', 'statement', 'verdict', 'ablation', 'source', 'better', 'worse', 'paired_n', 'delta_mAP', 'ci95_lo', 'ci95_hi', 'decided', 'note'];
  const rows = results.flatMap((r) =>
    r.results.map((c) => [
      r.claim.id, r.claim.statement, r.verdict, c.comparison.ablation, c.source, c.comparison.better, c.comparison.worse,
      csvNum(c.delta?.n), csvNum(c.delta?.mean), csvNum(c.delta?.lo), csvNum(c.delta?.hi), c.delta ? String(c.delta.decided) : '', c.note ?? '',
    ]),
  );
  return stringify([header, ...rows], { eof: true });
}
