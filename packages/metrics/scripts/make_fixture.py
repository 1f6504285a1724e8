"""Write fixtures/parity.json: random cases evaluated by the NumPy reference (scripts/reference.py).

Run from packages/metrics:  python3 scripts/make_fixture.py
Cases: quantised distance matrices (many exact ties), few identities and cameras (same-id same-camera junk,
camera collisions), queries whose id is absent from the gallery (skipped), galleries with > 64 positives per
query, both AP modes, official good/junk
lists, distances with zero vectors, k-reciprocal re-ranking with several (k1, k2, lambda) and duplicate features,
and alpha query expansion. Floats are written in their shortest float32 form.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reference as ref  # noqa: E402

SEED = 20261127


def f32(a):
    return [float(np.format_float_positional(np.float32(x), unique=True, trim='-')) for x in np.ravel(a)]


def f64(a):
    return [None if np.isnan(x) else float(x) for x in np.ravel(a)]


def ints(a):
    return [int(x) for x in np.ravel(a)]


def result_json(r):
    return {'cmc': f64(r['cmc']), 'mAP': r['mAP'], 'mINP': r['mINP'], 'numValidQueries': r['numValid'],
            'numSkippedQueries': r['numSkipped'], 'apPerQuery': f64(r['apPerQuery'])}


def ranking_case(rng, i):
    nq, ng = int(rng.integers(3, 16)), int(rng.integers(8, 60))
    if i >= 40:  # large galleries with few ids: > 64 positives per query
        nq, ng = int(rng.integers(3, 8)), int(rng.integers(250, 400))
    n_ids, n_cams = int(rng.integers(2, 8)), int(rng.integers(1, 4))
    q_ids = rng.integers(0, n_ids + 1, nq)  # id n_ids never appears in the gallery
    g_ids = rng.integers(0, n_ids, ng)
    q_cams, g_cams = rng.integers(0, n_cams, nq), rng.integers(0, n_cams, ng)
    levels = int(rng.choice([3, 6, 20, 1000]))
    distmat = (rng.integers(0, levels, (nq, ng)) / levels).astype(np.float32)
    max_rank = int(rng.choice([1, 5, 50, 100]))
    exclude = bool(rng.integers(0, 4) > 0)
    ap = str(rng.choice(['non-interpolated', 'trapezoid']))
    case = {'name': f'ranking-{i}', 'numQuery': nq, 'numGallery': ng, 'distmat': f32(distmat),
            'queryIds': ints(q_ids), 'galleryIds': ints(g_ids), 'queryCams': ints(q_cams),
            'galleryCams': ints(g_cams), 'maxRank': max_rank, 'excludeSameCamera': exclude, 'ap': ap}
    good = junk = None
    if i % 5 == 4:  # official good/junk lists instead of the id/camera rule
        good = [np.sort(rng.choice(ng, int(rng.integers(0, 6)), replace=False)) for _ in range(nq)]
        junk = [np.sort(rng.choice(ng, int(rng.integers(0, 4)), replace=False)) for _ in range(nq)]
        case['goodJunk'] = {'good': [ints(x) for x in good], 'junk': [ints(x) for x in junk]}
    try:
        r = ref.evaluate(distmat, q_ids, g_ids, q_cams, g_cams, max_rank, exclude, ap, good, junk)
        case['expected'] = result_json(r)
    except ValueError:
        case['expected'] = None  # no valid query: the evaluator must throw
    return case


def clustered_features(rng, n, dim, ids, noise):
    centres = rng.normal(size=(int(ids.max()) + 1, dim))
    return (centres[ids] + noise * rng.normal(size=(n, dim))).astype(np.float32)


def distance_case(rng, i, metric):
    nq, ng, dim = int(rng.integers(1, 9)), int(rng.integers(1, 11)), int(rng.choice([1, 3, 7, 16, 33]))
    q = rng.normal(size=(nq, dim)).astype(np.float32)
    g = rng.normal(size=(ng, dim)).astype(np.float32)
    g[0] = 0.0  # zero vector: cosine distance 1 by convention
    return {'name': f'distance-{i}-{metric}', 'metric': metric, 'dim': dim, 'query': f32(q), 'gallery': f32(g),
            'expected': f32(ref.distances(q, g, metric))}


def rerank_case(rng, i, k1, k2, lam, metric, duplicates):
    nq, ng, dim = int(rng.integers(6, 14)), int(rng.integers(30, 56)), 8
    q_ids, g_ids = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    feats = clustered_features(rng, nq + ng, dim, np.concatenate([q_ids, g_ids]), 0.9)
    if duplicates:
        feats[nq + 1] = feats[nq + 3]  # exact ties in every row
        feats[nq + 7] = feats[0]
    q, g = feats[:nq], feats[nq:]
    qg, qq, gg = ref.distances(q, g, metric), ref.distances(q, q, metric), ref.distances(g, g, metric)
    out = ref.rerank(qg, qq, gg, k1, k2, lam)
    q_cams, g_cams = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    ev = ref.evaluate(out, q_ids, g_ids, q_cams, g_cams, 50, True, 'non-interpolated')
    return {'name': f'rerank-{i}', 'numQuery': nq, 'numGallery': ng, 'k1': k1, 'k2': k2, 'lambda': lam,
            'qg': f32(qg), 'qq': f32(qq), 'gg': f32(gg), 'expected': f32(out),
            'queryIds': ints(q_ids), 'galleryIds': ints(g_ids), 'queryCams': ints(q_cams),
            'galleryCams': ints(g_cams), 'expectedEval': result_json(ev)}


def aqe_case(rng, i, k, alpha, expand_gallery):
    nq, ng, dim = int(rng.integers(3, 9)), int(rng.integers(8, 25)), 6
    q, g = rng.normal(size=(nq, dim)).astype(np.float32), rng.normal(size=(ng, dim)).astype(np.float32)
    eq, eg = ref.alpha_query_expansion(q, g, k, alpha, expand_gallery)
    return {'name': f'aqe-{i}', 'dim': dim, 'k': k, 'alpha': alpha, 'expandGallery': expand_gallery,
            'query': f32(q), 'gallery': f32(g), 'expectedQuery': f32(eq), 'expectedGallery': f32(eg)}


def main():
    rng = np.random.default_rng(SEED)
    rerank_params = [(20, 6, 0.3, 'cosine', False), (20, 6, 0.3, 'euclidean', True), (7, 3, 0.5, 'cosine', False),
                     (5, 1, 0.0, 'euclidean', False), (9, 4, 1.0, 'cosine', True), (3, 2, 0.3, 'cosine', False)]
    fixture = {
        'generator': 'packages/metrics/scripts/make_fixture.py', 'seed': SEED, 'numpy': np.__version__,
        'ranking': [ranking_case(rng, i) for i in range(44)],
        'distance': [distance_case(rng, i, m) for i in range(4) for m in ('cosine', 'euclidean')],
        'rerank': [rerank_case(rng, i, *p) for i, p in enumerate(rerank_params)],
        'aqe': [aqe_case(rng, i, k, a, e) for i, (k, a, e) in enumerate([(5, 3.0, False), (1, 1.0, True),
                                                                         (3, 3.0, True)])],
    }
    out = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'parity.json')
    with open(out + '.tmp', 'w') as fh:
        json.dump(fixture, fh, separators=(',', ':'))
        fh.write('\n')
    os.replace(out + '.tmp', out)
    print(f'wrote {out}: {os.path.getsize(out) / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
