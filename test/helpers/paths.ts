import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const BUNDLED_MODELS = path.join(PROJECT_ROOT, 'models');
/**
 * A small contextual encoder (2 layers; once shipped as the nearby-code-base tier): a slow model
 * for the tests of what indexing does when the model is the bottleneck, and a second model to
 * switch to. Used as a local model folder, as a user's own would be.
 */
export const ENCODER_MODEL = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'encoder');
export const FIXTURE_REPO = path.join(PROJECT_ROOT, 'test', 'fixtures', 'repo');
export const WORKER_SOURCE = path.join(PROJECT_ROOT, 'src', 'worker', 'main.ts');
export const CLI_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'cli.js');
