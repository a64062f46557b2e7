// Embedding speed of a shipped model through the product's path (transformers.js on
// onnxruntime-node), on chunks of about 200 tokens. Usage: node model/bench_speed.mjs models/nearby-code-small [threads]
import { AutoModel, AutoTokenizer, env } from '@huggingface/transformers';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';

const dir = path.resolve(process.argv[2] ?? 'models/nearby-code-small');
const threads = Number(process.argv[3] ?? 1);
const info = JSON.parse(readFileSync(path.join(dir, 'nearby.json'), 'utf8'));
env.allowRemoteModels = false;
env.localModelPath = path.dirname(dir) + path.sep;
const name = path.basename(dir);
const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModel.from_pretrained(name, { dtype: info.dtype, session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } });

// Real code as the workload: this repository's own sources, cut into ~200-token pieces.
const source = readFileSync(new URL('../src/core/chunk/codeChunker.ts', import.meta.url), 'utf8') + readFileSync(new URL('../src/core/store/indexStore.ts', import.meta.url), 'utf8');
const words = source.split(/(\s+)/);
const chunks = [];
let cur = '';
for (const w of words) {
  cur += w;
  if (tokenizer.encode(cur).length >= 200) {
    chunks.push(cur);
    cur = '';
  }
}
const texts = Array.from({ length: 512 }, (_, i) => chunks[i % chunks.length]);
const tokens = texts.reduce((n, t) => n + tokenizer.encode(t).length, 0) / texts.length;

for (const batch of [32, 64]) {
  const runs = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i += batch) {
      const inputs = tokenizer(texts.slice(i, i + batch), { padding: true, truncation: true, max_length: info.maxTokens });
      await model(inputs);
    }
    runs.push(texts.length / ((performance.now() - t0) / 1000));
  }
  runs.sort((a, b) => a - b);
  console.log(JSON.stringify({ model: info.id, threads, batch, mean_tokens: Math.round(tokens), chunks_per_s_median: Math.round(runs[1]) }));
}
