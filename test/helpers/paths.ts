import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const BUNDLED_MODELS = path.join(PROJECT_ROOT, 'models');
export const FIXTURE_REPO = path.join(PROJECT_ROOT, 'test', 'fixtures', 'repo');
export const WORKER_SOURCE = path.join(PROJECT_ROOT, 'src', 'worker', 'main.ts');
export const CLI_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'cli.js');
