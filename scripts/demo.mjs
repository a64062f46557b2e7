// `npm run demo`: indexes a real code base (Nearby's own sources) with the bundled model and
// prints ranked results for a few plain-English questions. Uses the built CLI, as a user would.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const project = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(project, 'dist', 'cli.js');
const sample = path.join(project, 'src');
const indexDir = path.join(project, '.nearby-cache', 'demo-index');
const queries = [
  'write a file atomically so readers never see half of it',
  'restart the background worker after it crashes',
  'which files does gitignore exclude, including negated patterns',
  'find the k nearest vectors by cosine similarity',
];

function nearby(args) {
  const r = spawnSync(process.execPath, [cli, ...args, '--index-dir', indexDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

console.log(`Indexing ${path.relative(process.cwd(), sample) || sample} ...`);
nearby(['index', sample]);
for (const q of queries) {
  console.log(`\n? ${q}`);
  nearby(['search', q, '--root', sample, '-k', '3']);
}
