import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bandOf, fitCalibration, isCalibration, relevanceOf, type Calibration, type HitFeatures } from '../../src/core/search/calibration';

describe('relevance calibration', () => {
  test('the fit recovers the parameters that generated the labels', () => {
    const truth = { bias: -3, cosine: 6, coverage: 2, rank: -0.8 };
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const rows: { f: HitFeatures; relevant: boolean; weight: number }[] = [];
    for (let i = 0; i < 40_000; i++) {
      const f = { cosine: random() * 0.8, coverage: random(), place: 1 + Math.floor(random() * 20) };
      const p = relevanceOf(f, { ...truth, strong: 0.5, possible: 0.2 });
      rows.push({ f, relevant: random() < p, weight: 1 });
    }
    const fit = fitCalibration(rows);
    for (const k of ['bias', 'cosine', 'coverage', 'rank'] as const) assert.ok(Math.abs(fit[k] - truth[k]) < 0.35, `${k}: ${fit[k]} against ${truth[k]}`);
  });

  test('likelihoods fall into bands at the thresholds, and a calibration is checked when read', () => {
    const c: Calibration = { bias: -2, cosine: 4, coverage: 1, rank: -0.5, strong: 0.5, possible: 0.2 };
    const strong = relevanceOf({ cosine: 0.8, coverage: 1, place: 1 }, c);
    const weak = relevanceOf({ cosine: 0.05, coverage: 0, place: 10 }, c);
    assert.equal(bandOf(strong, c), 'strong');
    assert.equal(bandOf(weak, c), 'weak');
    assert.equal(bandOf(0.3, c), 'possible');
    assert.ok(relevanceOf({ cosine: 0.5, coverage: 0.5, place: 1 }, c) > relevanceOf({ cosine: 0.5, coverage: 0.5, place: 5 }, c), 'a lower place is less likely');
    assert.ok(isCalibration(c));
    assert.ok(!isCalibration({ ...c, rank: 'x' }));
    assert.ok(!isCalibration({ bias: 1 }));
  });
});
