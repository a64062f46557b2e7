/**
 * Load: waves of 50 concurrent searches while the worker indexes a large tree. Every search must
 * answer; latency and the worker's memory are reported (figures, not pass marks: the machine is shared).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { peakRssMb } from '../../src/bench/report';
import { copyCorpus, expect, median, percentile, QUERIES, row, scratch, sleep, workerOn, type Row } from './harness';

const CONCURRENT = 50;
const FILES = 10_000;

export async function loadRow(): Promise<Row> {
  const r = row('load', `waves of ${CONCURRENT} concurrent searches while ${FILES.toLocaleString('en')} files are indexed: every search answers`);
  const s = scratch('load');
  const root = path.join(s.dir, 'repo');
  try {
    copyCorpus(root);
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(root, 'services', `s${Math.floor(i / 500)}`);
      if (i % 500 === 0) mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `handler${i}.ts`), `/** Handles request ${i}: validates the payload, stores it and answers with its id. */\nexport async function handle${i}(req: Request): Promise<Response> {\n  const body = await req.json();\n  if (!body.id) throw new Error('missing id ${i}');\n  return new Response(String(await store.put(body)));\n}\n`);
    }
    const client = workerOn(root, path.join(s.dir, 'index'));
    try {
      await client.start();
      let done = false;
      const indexing = client.request('index', {}).finally(() => (done = true));
      await sleep(500);
      const latencies: number[] = [];
      let errors = 0;
      let waves = 0;
      while (!done || waves < 2) {
        waves++;
        await Promise.all(
          Array.from({ length: CONCURRENT }, async (_, i) => {
            const t0 = performance.now();
            try {
              await client.request('search', { query: QUERIES[i % QUERIES.length]!, k: 10, previewLines: 3 });
              latencies.push(performance.now() - t0);
            } catch (err) {
              errors++;
              expect(r, false, `a search failed under load: ${(err as Error).message}`);
            }
          }),
        );
        r.tried += CONCURRENT;
      }
      await indexing;
      expect(r, errors === 0, `${errors} searches failed`);
      r.figures = {
        'searches': latencies.length + errors,
        waves,
        'latency p50 (ms)': Math.round(median(latencies)),
        'latency p95 (ms)': Math.round(percentile(latencies, 0.95)),
        'worker peak RSS (MB)': Math.round(peakRssMb(client.pid!)),
        errors,
      };
    } finally {
      await client.dispose();
    }
  } finally {
    s.dispose();
  }
  return r;
}
