import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { averagePrecisionAtR, bestF1, cloneType, f1At, rocAuc } from '../../src/eval/cloneEval';
import { gradedNdcg, landsOn } from '../../src/eval/realRepo';
import { metricsOf } from '../../src/eval/retrievalEval';

describe('evaluation metrics on hand-made cases', () => {
  test('ROC-AUC: perfect 1, reversed 0, ties and a known mix', () => {
    assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [true, true, false, false]), 1);
    assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [true, true, false, false]), 0);
    assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5);
    // Positives at 0.9 and 0.3, negatives at 0.5 and 0.1: 3 of 4 positive-negative pairs in order.
    assert.equal(rocAuc([0.9, 0.5, 0.3, 0.1], [true, false, true, false]), 0.75);
  });

  test('F1 at a threshold and the best threshold', () => {
    const scores = [0.9, 0.8, 0.6, 0.4];
    const labels = [true, false, true, false];
    assert.equal(f1At(scores, labels, 0.85), 2 / 3); // tp 1, fn 1
    assert.equal(f1At(scores, labels, 0.5), 0.8); // tp 2, fp 1
    assert.deepEqual(bestF1(scores, labels), { threshold: 0.6, f1: 0.8 });
  });

  test('MAP@R: all relevant first 1, all at the end 0, a known interleaving', () => {
    assert.equal(averagePrecisionAtR([true, true, true, false, false], 3), 1);
    assert.equal(averagePrecisionAtR([false, false, false, true, true], 2), 0);
    // Relevant at ranks 1 and 3 of R = 3: (1/1 + 2/3) / 3.
    assert.equal(averagePrecisionAtR([true, false, true, false], 3), (1 + 2 / 3) / 3);
  });

  test('MRR@10 and nDCG@10 of single answers', () => {
    const m = metricsOf([1, 2, undefined, 11]);
    assert.equal(m['mrr@10'], 0.375); // (1 + 1/2) / 4
    assert.equal(m['recall@1'], 0.25);
    assert.equal(m['ndcg@10'], Math.round(((1 + 1 / Math.log2(3)) / 4) * 10_000) / 10_000);
  });

  test('graded nDCG: ideal order 1, reversed lower, a hit credited once', () => {
    const gold = [
      { path: 'a.py', start: 10, end: 20, grade: 3 },
      { path: 'b.py', start: 1, end: 5, grade: 2 },
    ];
    const hitA = { path: 'a.py', startLine: 12, endLine: 18 };
    const hitB = { path: 'b.py', startLine: 1, endLine: 30 };
    assert.equal(gradedNdcg([hitA, hitB], gold), 1);
    const reversed = gradedNdcg([hitB, hitA], gold);
    const ideal = 7 + 3 / Math.log2(3);
    assert.equal(Math.round(reversed * 1e9), Math.round(((3 + 7 / Math.log2(3)) / ideal) * 1e9));
    assert.equal(gradedNdcg([hitA, hitA], [gold[0]!]), 1, 'the second hit on the same answer earns nothing, the ideal has one answer');
    assert.equal(gradedNdcg([{ path: 'a.py', startLine: 30, endLine: 40 }], gold), 0);
  });

  test('a hit lands on an answer when half of the shorter of the two is shared', () => {
    const gold = { path: 'a.py', start: 10, end: 19, grade: 3 };
    assert.ok(landsOn({ path: 'a.py', startLine: 1, endLine: 100 }, gold), 'a chunk holding a short answer');
    assert.ok(landsOn({ path: 'a.py', startLine: 12, endLine: 13 }, gold), 'a chunk inside a long answer');
    assert.ok(!landsOn({ path: 'a.py', startLine: 18, endLine: 40 }, gold), 'two lines of ten');
    assert.ok(!landsOn({ path: 'b.py', startLine: 10, endLine: 19 }, gold));
  });

  test('clone types: identical after normalisation, renamed, or neither', () => {
    const a = 'int add(int x, int y) {\n  // sum\n  return x + y;\n}';
    assert.equal(cloneType(a, 'int add(int x, int y) { return x + y; }', 'java'), 'identical');
    assert.equal(cloneType(a, 'int plus(int p, int q) {\n  return p + q;\n}', 'java'), 'renamed');
    assert.equal(cloneType(a, 'int add(int x, int y) {\n  int s = x;\n  s += y;\n  return s;\n}', 'java'), 'semantic');
  });
});
