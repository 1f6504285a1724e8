"""NumPy side of the metrics bench (spawned by bench/metrics-bench.ts with the same data).

Usage: python3 scripts/reference_bench.py <dir>
Reads <dir>/spec.json and the raw little-endian arrays it names, runs scripts/reference.py on them, times
each step with time.perf_counter, and writes <dir>/numpy.json (timings, metric values, per-query AP).
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reference as ref  # noqa: E402


def load(d, spec, name):
    a = spec['arrays'][name]
    return np.fromfile(os.path.join(d, a['file']), dtype=a['dtype']).reshape(a['shape'])


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def summary(r):
    return {'mAP': r['mAP'], 'mINP': r['mINP'], 'cmc': [float(x) for x in r['cmc']], 'numValid': r['numValid'],
            'apPerQuery': [None if np.isnan(x) else float(x) for x in r['apPerQuery']]}


def main():
    d = sys.argv[1]
    with open(os.path.join(d, 'spec.json')) as fh:
        spec = json.load(fh)
    out = {'numpy': np.__version__, 'python': sys.version.split()[0], 'executable': sys.executable}
    for task in spec['tasks']:
        kind = task['kind']
        if kind == 'veri776':
            q, g = load(d, spec, 'q'), load(d, spec, 'g')
            qi, gi, qc, gc = (load(d, spec, n) for n in ('qIds', 'gIds', 'qCams', 'gCams'))
            ts_dist = load(d, spec, 'tsDist')
            dist, t_dist = timed(lambda: ref.distances(q, g, task['metric']))
            res = {'distanceSeconds': t_dist, 'maxAbsDistanceDiff': float(np.max(np.abs(dist - ts_dist)))}
            r_own, t_own = timed(lambda: ref.evaluate(dist, qi, gi, qc, gc, 50, True, 'non-interpolated'))
            r_ts, t_ts = timed(lambda: ref.evaluate(ts_dist, qi, gi, qc, gc, 50, True, 'non-interpolated'))
            r_tr, t_tr = timed(lambda: ref.evaluate(ts_dist, qi, gi, qc, gc, 50, True, 'trapezoid'))
            hard = load(d, spec, 'hardDist')
            r_hd, t_hd = timed(lambda: ref.evaluate(hard, qi, gi, qc, gc, 50, True, 'non-interpolated'))
            res.update({'hardSeconds': t_hd, 'hard': summary(r_hd)})
            res.update({'evaluateSeconds': t_ts, 'evaluateTrapezoidSeconds': t_tr, 'evaluateOwnSeconds': t_own,
                        'ownDistances': summary(r_own), 'tsDistances': summary(r_ts), 'tsDistancesTrapezoid': summary(r_tr)})
            out['veri776'] = res
        elif kind == 'rerank':
            qg, qq, gg = load(d, spec, 'rrQg'), load(d, spec, 'rrQq'), load(d, spec, 'rrGg')
            qi, gi, qc, gc = (load(d, spec, n) for n in ('rrQIds', 'rrGIds', 'rrQCams', 'rrGCams'))
            rr, t_rr = timed(lambda: ref.rerank(qg, qq, gg, task['k1'], task['k2'], task['lambda']))
            rr.tofile(os.path.join(d, 'numpy-rerank.f32'))
            r = ref.evaluate(rr, qi, gi, qc, gc, 50, True, 'non-interpolated')
            out['rerank'] = {'seconds': t_rr, 'eval': summary(r)}
        elif kind == 'veriwild-rows':
            q, g = load(d, spec, 'vwQ'), load(d, spec, 'vwG')
            qi, gi, qc, gc = (load(d, spec, n) for n in ('vwQIds', 'vwGIds', 'vwQCams', 'vwGCams'))
            dist, t_dist = timed(lambda: ref.distances(q, g, task['metric']))
            r, t_ev = timed(lambda: ref.evaluate(dist, qi, gi, qc, gc, 50, True, 'non-interpolated'))
            out['veriwildRows'] = {'distanceSeconds': t_dist, 'evaluateSeconds': t_ev, 'eval': summary(r)}
    out['maxRssKiB'] = __import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss
    with open(os.path.join(d, 'numpy.json'), 'w') as fh:
        json.dump(out, fh)


if __name__ == '__main__':
    main()
