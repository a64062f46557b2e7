import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isCalibration, type Calibration } from '../search/calibration';

/** What the product needs to know about a model beyond its ONNX graph (`nearby.json`). */
export interface ModelInfo {
  id: string;
  dimension: number;
  maxTokens: number;
  pooling: 'mean' | 'cls';
  normalize: boolean;
  queryPrefix: string;
  documentPrefix: string;
  /** Weights file variant: `q8` → onnx/model_quantized.onnx, `fp32` → onnx/model.onnx. */
  dtype: 'q8' | 'fp32';
  /** Token budget of one inference call (padded tokens of a batch). */
  batchTokens: number;
  /** How this model's cosines (with keyword coverage) map to relevance; absent for uncalibrated models. */
  calibration?: Calibration;
  /** Release of the weights under this id: an index of another release is rebuilt (see `indexModelId`). */
  revision?: number;
  /** Cosine at which two chunks are semantic near-duplicates, chosen for this model. */
  dupeThreshold?: number;
}

/** The model as an index records it: its id and release, so that new weights never search old vectors. */
export function indexModelId(info: Pick<ModelInfo, 'id' | 'revision'>): string {
  return info.revision ? `${info.id}@${info.revision}` : info.id;
}

/**
 * Defaults for public hub models that ship no `nearby.json`. Prefixes follow each model card:
 * the BGE family wants an instruction on queries only.
 */
const KNOWN_HUB_MODELS: Record<string, Partial<ModelInfo>> = {
  'Xenova/all-MiniLM-L6-v2': { dimension: 384, maxTokens: 256 },
  'Xenova/bge-small-en-v1.5': {
    dimension: 384,
    maxTokens: 512,
    pooling: 'cls',
    queryPrefix: 'Represent this sentence for searching relevant passages: ',
  },
  'jinaai/jina-embeddings-v2-base-code': { dimension: 768, maxTokens: 512 },
};

export class ModelError extends Error {
  constructor(
    readonly code: 'model-missing' | 'model-corrupt' | 'model-offline' | 'model-download-failed',
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Reads `nearby.json` (or falls back to `config.json` and known defaults) from a model folder. */
export async function readModelInfo(modelDir: string, hubId?: string): Promise<ModelInfo> {
  const configPath = path.join(modelDir, 'config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await fs.readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError('model-corrupt', `Model folder ${modelDir} has no readable config.json (${(err as Error).message}).`);
  }
  let own: Partial<ModelInfo> = {};
  try {
    own = JSON.parse(await fs.readFile(path.join(modelDir, 'nearby.json'), 'utf8')) as Partial<ModelInfo>;
  } catch {
    // Public models have no nearby.json: their shape comes from config.json and the table above.
  }
  const known = (hubId && KNOWN_HUB_MODELS[hubId]) || {};
  const hidden = typeof config['hidden_size'] === 'number' ? (config['hidden_size'] as number) : undefined;
  const positions = typeof config['max_position_embeddings'] === 'number' ? (config['max_position_embeddings'] as number) : 512;
  // Inference is fastest when a call's activations stay in cache, so batches are cut by a token
  // budget that depends on the work per token. Measured with one thread on mixed-length code:
  // nearby-code-base (2 layers) embeds about 30% more chunks per second at 1,024 tokens a call
  // than at 16,384; nearby-code-small (no layers) was fastest at 4,096-8,192 and 30% slower at
  // 16,384. A model folder's nearby.json can set its own.
  const layers = typeof config['num_hidden_layers'] === 'number' ? (config['num_hidden_layers'] as number) : 1;
  const info: ModelInfo = {
    id: own.id ?? hubId ?? path.basename(modelDir),
    dimension: own.dimension ?? known.dimension ?? hidden ?? 0,
    maxTokens: own.maxTokens ?? known.maxTokens ?? Math.min(positions, 512),
    pooling: own.pooling ?? known.pooling ?? 'mean',
    normalize: own.normalize ?? true,
    queryPrefix: own.queryPrefix ?? known.queryPrefix ?? '',
    documentPrefix: own.documentPrefix ?? known.documentPrefix ?? '',
    dtype: own.dtype ?? 'q8',
    batchTokens: own.batchTokens ?? (layers === 0 ? 8192 : 1024),
    ...(isCalibration(own.calibration) ? { calibration: own.calibration } : {}),
    ...(Number.isInteger(own.revision) && own.revision! > 0 ? { revision: own.revision! } : {}),
    ...(typeof own.dupeThreshold === 'number' && own.dupeThreshold > 0 && own.dupeThreshold <= 1 ? { dupeThreshold: own.dupeThreshold } : {}),
  };
  if (!(info.dimension > 0)) throw new ModelError('model-corrupt', `Cannot tell the embedding dimension of ${modelDir}.`);
  return info;
}

export function weightsFile(info: Pick<ModelInfo, 'dtype'>): string {
  return info.dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
}
