// Bundles the extension host entry, the indexing worker and the CLI into dist/.
// Native and heavy runtime packages stay external and ship in node_modules.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const entries = [
  { in: 'src/extension.ts', out: 'extension' },
  { in: 'src/worker/main.ts', out: 'worker' },
  { in: 'src/cli.ts', out: 'cli' },
  { in: 'src/core/index/parseThread.ts', out: 'parseThread' },
].filter((e) => fs.existsSync(e.in));

/** Tree-sitter grammars are loaded at run time from dist/grammars (see src/core/chunk). */
function copyGrammars() {
  const manifest = path.join('src', 'core', 'chunk', 'grammars.json');
  if (!fs.existsSync(manifest)) return;
  const out = path.join('dist', 'grammars');
  fs.mkdirSync(out, { recursive: true });
  for (const rel of Object.values(JSON.parse(fs.readFileSync(manifest, 'utf8')))) {
    fs.copyFileSync(require.resolve(rel), path.join(out, path.basename(rel)));
  }
}

const options = {
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node', 'onnxruntime-web', 'sharp', '@huggingface/transformers', 'vectra'],
  banner: { js: '' },
};

async function main() {
  fs.rmSync('dist', { recursive: true, force: true });
  copyGrammars();
  if (watch) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    console.log('esbuild: watching for changes');
  } else {
    await esbuild.build(options);
    fs.chmodSync(path.join('dist', 'cli.js'), 0o755);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
