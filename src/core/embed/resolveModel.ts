import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { COMPLETE_MARKER, downloadHubModel, type DownloadOptions } from './hubDownload';
import { ModelError } from './modelInfo';

export const DEFAULT_MODEL = 'nearby-code-small';

export interface ModelRequest {
  /** A bundled tier (`nearby-code-small`), a hub id (`Xenova/bge-small-en-v1.5`) or a folder path. */
  model?: string;
  /** Folder holding the models shipped with Nearby. */
  bundledDir: string;
  /** Per-user cache of downloaded models. */
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  download?: DownloadOptions;
}

export type ModelSource = 'explicit' | 'env' | 'bundled' | 'cache' | 'download';

export interface ResolvedModel {
  dir: string;
  source: ModelSource;
  hubId?: string;
}

/**
 * Finds the model folder: an explicit folder, then `NEARBY_MODEL_DIR`, then a bundled tier, then
 * the download cache, and only then the hub. Ids without a `/` are Nearby's own tiers and never
 * trigger a download.
 */
export async function resolveModel(req: ModelRequest): Promise<ResolvedModel> {
  const env = req.env ?? process.env;
  const wanted = req.model?.trim() || DEFAULT_MODEL;
  if (looksLikePath(wanted)) return { dir: await requireModelDir(path.resolve(wanted), 'the configured model folder'), source: 'explicit' };
  const fromEnv = env['NEARBY_MODEL_DIR'];
  if (fromEnv) return { dir: await requireModelDir(path.resolve(fromEnv), 'NEARBY_MODEL_DIR'), source: 'env' };

  const bundled = path.join(req.bundledDir, wanted);
  if (existsSync(path.join(bundled, 'config.json'))) return { dir: bundled, source: 'bundled' };
  if (!wanted.includes('/')) {
    throw new ModelError('model-missing', `No bundled model named "${wanted}" in ${req.bundledDir}. Pick "${DEFAULT_MODEL}", a Hugging Face id such as "Xenova/all-MiniLM-L6-v2", or a local model folder.`);
  }
  const cached = path.join(req.cacheDir, ...wanted.split('/'));
  if (existsSync(path.join(cached, COMPLETE_MARKER))) return { dir: cached, source: 'cache', hubId: wanted };
  await downloadHubModel(wanted, cached, { ...req.download, env });
  return { dir: cached, source: 'download', hubId: wanted };
}

function looksLikePath(value: string): boolean {
  // Hub ids look like relative paths (`Xenova/x`), so a relative folder must start with `.`.
  return path.isAbsolute(value) || value.startsWith('.');
}

async function requireModelDir(dir: string, what: string): Promise<string> {
  try {
    await fs.access(path.join(dir, 'config.json'));
  } catch {
    throw new ModelError('model-missing', `${what} (${dir}) is not a model folder: it has no config.json. Point it at a folder with config.json, tokenizer.json and onnx/model_quantized.onnx.`);
  }
  return dir;
}
