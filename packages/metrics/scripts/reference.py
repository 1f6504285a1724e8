"""Independent dense NumPy reference for @clip-senet/metrics (written from the definitions, not from the TS code).

Definitions: /work/shared/PROTOCOLS.md "Metrics"; re-ranking: Zhong et al., "Re-ranking Person Re-identification
with k-reciprocal Encoding", CVPR 2017 (the authors' public re_ranking.py, with explicit k1/k2/lambda).
Deliberately straightforward: full argsort of every row, dense (N x N) matrices, Python loops.

Ties: every ranking sorts by distance then by index, i.e. np.argsort(kind='stable').
Distances: computed in float64 and rounded to float32 (the package's convention).
"""
import numpy as np


def distances(q, g, metric):
    """[nq, d], [ng, d] -> float32 [nq, ng]; cosine = 1 - cos, euclidean = squared, clamped at 0."""
    q = np.asarray(q, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    dots = q @ g.T
    qn = np.sum(q * q, axis=1)
    gn = np.sum(g * g, axis=1)
    if metric == 'cosine':
        den = np.sqrt(qn)[:, None] * np.sqrt(gn)[None, :]
        with np.errstate(divide='ignore', invalid='ignore'):
            d = np.where(den > 0, 1.0 - dots / np.where(den > 0, den, 1.0), 1.0)
    else:
        d = np.maximum(qn[:, None] + gn[None, :] - 2.0 * dots, 0.0)
    return d.astype(np.float32)


def evaluate(distmat, q_ids, g_ids, q_cams=None, g_cams=None, max_rank=50, exclude_same_camera=True,
             ap_mode='non-interpolated', good=None, junk=None):
    """Full-sort evaluation. Returns dict(cmc, mAP, mINP, numValid, numSkipped, apPerQuery)."""
    distmat = np.asarray(distmat, dtype=np.float32)
    nq, ng = distmat.shape
    cmc_len = min(max_rank, ng)
    all_cmc, all_ap, all_inp = [], [], []
    ap_per_query = np.full(nq, np.nan)
    for qi in range(nq):
        order = np.argsort(distmat[qi], kind='stable')
        if good is not None:
            is_junk = np.zeros(ng, dtype=bool)
            is_junk[np.asarray(junk[qi], dtype=np.int64)] = True
            is_good = np.zeros(ng, dtype=bool)
            is_good[np.asarray(good[qi], dtype=np.int64)] = True
            is_good &= ~is_junk
        else:
            same_id = np.asarray(g_ids) == q_ids[qi]
            is_junk = same_id & (np.asarray(g_cams) == q_cams[qi]) if exclude_same_camera else np.zeros(ng, bool)
            is_good = same_id & ~is_junk
        keep = ~is_junk[order]
        matches = is_good[order][keep].astype(np.float64)
        if not matches.any():
            continue
        hit_ranks = np.nonzero(matches)[0]  # 0-based filtered ranks of the hits
        cmc = np.zeros(cmc_len)
        if hit_ranks[0] < cmc_len:
            cmc[hit_ranks[0]:] = 1.0
        all_cmc.append(cmc)
        npos = len(hit_ranks)
        if ap_mode == 'non-interpolated':
            precision_at_hits = np.cumsum(matches)[hit_ranks] / (hit_ranks + 1.0)
            ap = float(np.sum(precision_at_hits) / npos)
        else:
            ap = trapezoid_ap(matches)
        ap_per_query[qi] = ap
        all_ap.append(ap)
        all_inp.append(npos / (hit_ranks[-1] + 1.0))
    if not all_ap:
        raise ValueError('no valid query')
    return {
        'cmc': np.mean(np.stack(all_cmc), axis=0),
        'mAP': float(np.mean(all_ap)),
        'mINP': float(np.mean(all_inp)),
        'numValid': len(all_ap),
        'numSkipped': nq - len(all_ap),
        'apPerQuery': ap_per_query,
    }


def trapezoid_ap(matches):
    """Official VeRi-776 MATLAB compute_AP over the junk-free ranking (loop transcribed literally)."""
    ngood = matches.sum()
    ap, old_recall, old_precision, intersect = 0.0, 0.0, 1.0, 0.0
    for n, m in enumerate(matches, start=1):
        if m:
            intersect += 1
        recall = intersect / ngood
        precision = intersect / n
        ap += (recall - old_recall) * ((old_precision + precision) / 2.0)
        old_recall, old_precision = recall, precision
        if intersect == ngood:
            break
    return ap


def k_reciprocal_neighbours(initial_rank, i, k):
    forward = initial_rank[i, :k + 1]
    backward = initial_rank[forward, :k + 1]
    return forward[np.where(backward == i)[0]]


def rerank(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3):
    """k-reciprocal re-ranking (Zhong et al. 2017), dense. `original` in float32 as in the authors' code;
    V and the Jaccard distance in float64. Returns float32 [nq, ng]."""
    q_g = np.asarray(q_g, np.float32)
    q_q = np.asarray(q_q, np.float32)
    g_g = np.asarray(g_g, np.float32)
    nq = q_g.shape[0]
    # As in the authors' code: float32 squares, each column divided by its maximum, then transposed
    # (row i of `original` is column i of the full matrix; the same as rows when the inputs are symmetric).
    full = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float32)
    original = full ** 2
    original = (original / np.max(original, axis=0)).T
    n = original.shape[0]
    initial_rank = np.argsort(original, axis=1, kind='stable')
    half = int(np.around(k1 / 2.0))
    V = np.zeros((n, n))
    for i in range(n):
        r = k_reciprocal_neighbours(initial_rank, i, k1)
        expansion = r
        for c in r:
            rc = k_reciprocal_neighbours(initial_rank, c, half)
            if len(np.intersect1d(rc, r)) > 2.0 / 3.0 * len(rc):
                expansion = np.append(expansion, rc)
        expansion = np.unique(expansion)
        w = np.exp(-original[i, expansion].astype(np.float64))
        V[i, expansion] = w / np.sum(w)
    if k2 != 1:
        V = np.stack([np.mean(V[initial_rank[i, :k2], :], axis=0) for i in range(n)])
    jaccard = np.zeros((nq, n))
    for i in range(nq):
        mins = np.minimum(V[i][None, :], V).sum(axis=1)
        jaccard[i] = 1.0 - mins / (2.0 - mins)
    final = jaccard * (1.0 - lambda_value) + original[:nq].astype(np.float64) * lambda_value
    return final[:, nq:].astype(np.float32)


def alpha_query_expansion(q, g, k=5, alpha=3.0, expand_gallery=False):
    """alpha-QE (Radenovic et al. 2018): x' = normalise(x^ + sum_{top-k gallery} max(0, s)^alpha g^)."""
    def normalise(x):
        x = np.asarray(x, np.float64)
        nrm = np.sqrt(np.sum(x * x, axis=1, keepdims=True))
        return x / np.where(nrm > 0, nrm, 1.0)

    def expand(x):
        d = distances(x, g, 'cosine').astype(np.float64)
        xn, gn = normalise(x), normalise(g)
        out = np.empty_like(xn)
        for i in range(len(x)):
            top = np.argsort(d[i], kind='stable')[:k]
            w = np.maximum(0.0, 1.0 - d[i, top]) ** alpha
            out[i] = xn[i] + (w[:, None] * gn[top]).sum(axis=0)
        return normalise(out).astype(np.float32)

    return expand(q), (expand(g) if expand_gallery else np.asarray(g, np.float32))
