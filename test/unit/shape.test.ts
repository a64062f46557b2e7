import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MEANING_WEIGHT, rankByShape, shapeCosine, shapeOf, similarDepth, STRUCTURE_SHARE } from '../../src/core/dupes/shape';

const SCAN = `int main() {
  int n, a[100], best = 0;
  scanf("%d", &n);
  for (int i = 0; i < n; i++) {
    scanf("%d", &a[i]);
    if (a[i] > best) best = a[i];
  }
  printf("%d\\n", best);
  return 0;
}`;

describe('shapes', () => {
  test('a copy laid out and commented otherwise has the same shape', () => {
    const relaid = `// largest of n numbers
int main(){int n,a[100],best=0;scanf("%d",&n);
  for(int i=0;i<n;i++){ /* read */ scanf("%d",&a[i]); if(a[i]>best) best=a[i]; }
  printf("%d\\n",best); return 0; }`;
    assert.ok(Math.abs(shapeCosine(shapeOf(SCAN, 'cpp'), shapeOf(relaid, 'cpp')) - 1) < 1e-5);
  });

  test('the same statements in another order share less than the original', () => {
    const reordered = `int main() {
  int n, a[100], best = 0;
  printf("%d\\n", best);
  for (int i = 0; i < n; i++) {
    if (a[i] > best) best = a[i];
    scanf("%d", &a[i]);
  }
  scanf("%d", &n);
  return 0;
}`;
    const renamed = SCAN.replaceAll('best', 'top');
    const original = shapeOf(SCAN, 'cpp');
    const order = shapeCosine(original, shapeOf(reordered, 'cpp'));
    const names = shapeCosine(original, shapeOf(renamed, 'cpp'));
    assert.ok(order > 0.5 && order < 0.97, `reordered ${order}`);
    assert.ok(names > 0.6 && names < 0.97, `renamed ${names}`);
  });

  test('single tokens in common do not count: only runs of them do', () => {
    assert.equal(shapeCosine(shapeOf('x = f(y)', 'cpp'), shapeOf('y + x - f', 'cpp')), 0);
    assert.ok(shapeCosine(shapeOf('x = f(y)', 'cpp'), shapeOf('p = f(y)', 'cpp')) > 0.5);
  });

  test('every name changed: the structure part alone is shared', () => {
    assert.ok(Math.abs(shapeCosine(shapeOf('x = f(y)', 'cpp'), shapeOf('p = g(q)', 'cpp')) - STRUCTURE_SHARE) < 1e-6);
  });

  test('empty and token-less texts have no shape in common with anything', () => {
    assert.equal(shapeCosine(shapeOf('', 'cpp'), shapeOf(SCAN, 'cpp')), 0);
    assert.equal(shapeCosine(shapeOf('// only a comment', 'cpp'), shapeOf('// only a comment', 'cpp')), 0);
  });
});

describe('rankByShape', () => {
  const selection = shapeOf(SCAN, 'cpp');
  const candidates = [
    { name: 'means the same', cosine: 0.9, text: 'int largest(vector<int> v) { return *max_element(v.begin(), v.end()); }' },
    { name: 'copy', cosine: 0.7, text: SCAN.replaceAll('best', 'top') },
    { name: 'unreadable', cosine: 0.95, text: undefined },
    { name: 'tie A', cosine: 0.5, text: 'return 0;' },
    { name: 'tie B', cosine: 0.5, text: 'return 0;' },
  ];
  const ranked = rankByShape(selection, candidates, (c) => c.cosine, (c) => (c.text === undefined ? undefined : shapeOf(c.text, 'cpp')), 5);

  test('weighs the cosine and the shape, best first, ties in the order given', () => {
    // A little shape in common lifts "means the same" over the unreadable hit's higher cosine.
    assert.ok(ranked.find((r) => r.candidate.name === 'means the same')!.shape > 0.05);
    assert.deepEqual(ranked.map((r) => r.candidate.name), ['copy', 'means the same', 'unreadable', 'tie A', 'tie B']);
    for (const r of ranked) assert.ok(Math.abs(r.score - (MEANING_WEIGHT * r.candidate.cosine + (1 - MEANING_WEIGHT) * r.shape)) < 1e-9);
    assert.equal(ranked.find((r) => r.candidate.name === 'unreadable')!.shape, 0);
  });

  test('a rank weight moves a candidate down without changing its score', () => {
    const copy = candidates[1]!;
    const shapeOfCandidate = (c: (typeof candidates)[number]) => (c.text === undefined ? undefined : shapeOf(c.text, 'cpp'));
    const weighed = rankByShape(selection, candidates, (c) => c.cosine, shapeOfCandidate, 5, (c) => (c === copy ? 0.3 : 1));
    const place = weighed.findIndex((r) => r.candidate === copy);
    assert.ok(place > 0, `the weighed copy is at ${place}`);
    assert.equal(weighed[place]!.score, ranked[0]!.score);
  });

  test('keeps k, and looks ten deep per hit asked for', () => {
    assert.equal(rankByShape(selection, candidates, (c) => c.cosine, () => undefined, 2).length, 2);
    assert.equal(similarDepth(10), 200);
    assert.equal(similarDepth(499), 4990);
  });
});
