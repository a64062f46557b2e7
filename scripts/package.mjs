// Builds a platform-specific .vsix that works offline: the bundled model, the bundled code, and
// only the runtime packages the bundle leaves external (transformers.js and onnxruntime-node with
// this platform's native binaries). Usage: node scripts/package.mjs [--target linux-x64] [--out file.vsix]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = process.argv.indexOf('--target');
const target = arg > 0 ? process.argv[arg + 1] : `${process.platform}-${process.arch}`;
const [platform, arch] = target.split('-');
// Packages the esbuild bundle loads at run time (see esbuild.js externals).
const RUNTIME = ['@huggingface/transformers', 'onnxruntime-node'];

const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
const stage = path.join(project, 'out', `vsix-${target}`);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

execFileSync(process.execPath, [path.join(project, 'esbuild.js'), '--production'], { cwd: project, stdio: 'inherit' });
for (const item of ['dist', 'media', 'models', 'README.md', 'LICENSE']) {
  if (existsSync(path.join(project, item))) cpSync(path.join(project, item), path.join(stage, item), { recursive: true });
}
const manifest = { ...pkg, dependencies: Object.fromEntries(RUNTIME.map((name) => [name, pkg.dependencies[name]])) };
delete manifest.devDependencies;
delete manifest.scripts;
writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(path.join(stage, '.vscodeignore'), ['**/*.map', '**/*.d.ts', 'node_modules/**/README.md', 'node_modules/**/*.md', 'node_modules/onnxruntime-web/**', 'node_modules/**/test/**'].join('\n'));
cpSync(path.join(project, 'package-lock.json'), path.join(stage, 'package-lock.json'));
// Every package comes from npm's cache: no network, and no install scripts (the CPU binaries of
// onnxruntime-node are in its tarball; its script only fetches optional GPU libraries).
execFileSync('npm', ['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: stage, stdio: 'inherit' });

// onnxruntime-node carries every platform's binaries; keep this one's.
const ortBin = path.join(stage, 'node_modules', 'onnxruntime-node', 'bin');
for (const napi of readdirSync(ortBin)) {
  for (const os of readdirSync(path.join(ortBin, napi))) {
    if (os !== platform) rmSync(path.join(ortBin, napi, os), { recursive: true, force: true });
    else for (const a of readdirSync(path.join(ortBin, napi, os))) if (a !== arch) rmSync(path.join(ortBin, napi, os, a), { recursive: true, force: true });
  }
}

const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(project, `${pkg.name}-${pkg.version}-${target}.vsix`);
const vsce = path.join(project, 'node_modules', '.bin', 'vsce');
execFileSync(vsce, ['package', '--target', target, '--allow-missing-repository', '--out', out], { cwd: stage, stdio: 'inherit' });
console.log(`packaged ${path.relative(project, out)}`);
