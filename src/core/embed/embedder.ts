import * as path from 'node:path';
import type { TokenCounter } from '../types';
import { splitRows } from '../typedArrays';
import { ModelError, readModelInfo, weightsFile, type ModelInfo } from './modelInfo';
import type { ResolvedModel } from './resolveModel';
import { WordPieceTokenizer } from './wordPiece';

/** Turns texts into unit vectors. One instance owns one loaded model. */
export interface Embedder extends TokenCounter {
  readonly info: ModelInfo;
  /** `ids[i]`, when given, is the model input of text i already (a chunk's `tokenIds`). */
  embedDocuments(texts: readonly string[], ids?: readonly (Int32Array | undefined)[]): Promise<Float32Array[]>;
  embedQuery(text: string): Promise<Float32Array>;
  /** Drops what it keeps to go faster next time (its tokenizer's words), when a long spell of work ends. */
  forgetCaches?(): void;
  dispose(): Promise<void>;
}

export interface EmbedderOptions {
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Upper bound of padded tokens in one inference call; bounds memory and keeps batches even. */
  maxBatchTokens?: number;
}

type TransformersModule = typeof import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } });
interface LoadedTokenizer {
  encode(text: string): number[];
  (texts: string[], options: Record<string, unknown>): { input_ids: unknown; attention_mask: { data: BigInt64Array; dims: number[] } };
}
interface LoadedModel {
  (inputs: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  dispose(): Promise<unknown>;
}

/** transformers.js set to load strictly from the folder that holds `modelDir`. */
async function localTransformers(modelDir: string): Promise<TransformersModule & { name: string }> {
  const transformers: TransformersModule = await import('@huggingface/transformers');
  const { env } = transformers;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = path.dirname(modelDir) + path.sep;
  return { ...transformers, name: path.basename(modelDir) };
}

/** The model's tokenizer alone, as the chunker counts with it: light enough for a parsing thread. */
export async function loadTokenCounter(resolved: ResolvedModel): Promise<TokenCounter> {
  const info = await readModelInfo(resolved.dir, resolved.hubId);
  const wordPiece = WordPieceTokenizer.load(path.join(resolved.dir, 'tokenizer.json'));
  if (wordPiece) return wordPieceCounter(wordPiece, info);
  const { AutoTokenizer, name } = await localTransformers(resolved.dir);
  const tokenizer = (await AutoTokenizer.from_pretrained(name)) as unknown as LoadedTokenizer;
  return { count: (text: string) => tokenizer.encode(info.documentPrefix + text).length };
}

function wordPieceCounter(wordPiece: WordPieceTokenizer, info: ModelInfo): TokenCounter {
  const count = (text: string) => wordPiece.count(info.documentPrefix + text);
  // A prefix that ends at whitespace tokenizes apart from the text after it.
  if (info.documentPrefix !== '' && !/\s$/.test(info.documentPrefix)) return { count };
  const prefix = wordPiece.pieces(info.documentPrefix);
  return {
    count,
    lineIds: (lines) => wordPiece.lineIds(lines),
    modelInput: (parts) => wordPiece.wrap([prefix, ...parts], info.maxTokens),
    cutLine: (line, budget) => wordPiece.cut(line, budget),
  };
}

/**
 * Embedder on transformers.js + onnxruntime-node, loading strictly from a local folder: the hub
 * is never contacted here (downloads happen earlier, in `resolveModel`, and only on request).
 */
export class TransformersEmbedder implements Embedder {
  // The chunker's fast path (see TokenCounter), where the tokenizer allows it: files the indexer
  // parses on this thread are then assembled from line ids as on the parsing thread.
  readonly lineIds: TokenCounter['lineIds'];
  readonly modelInput: TokenCounter['modelInput'];
  readonly cutLine: TokenCounter['cutLine'];

  private constructor(
    readonly info: ModelInfo,
    private readonly tokenizer: LoadedTokenizer,
    private readonly model: LoadedModel,
    private readonly maxBatchTokens: number,
    /** The fast path for BERT WordPiece vocabularies; other tokenizers go through transformers.js. */
    private readonly wordPiece: WordPieceTokenizer | undefined,
    private readonly Tensor: TransformersModule['Tensor'],
  ) {
    const counter = wordPiece && wordPieceCounter(wordPiece, info);
    this.lineIds = counter?.lineIds;
    this.modelInput = counter?.modelInput;
    this.cutLine = counter?.cutLine;
  }

  static async load(resolved: ResolvedModel, options: EmbedderOptions = {}): Promise<TransformersEmbedder> {
    const info = await readModelInfo(resolved.dir, resolved.hubId);
    const { AutoTokenizer, AutoModel, Tensor, name } = await localTransformers(resolved.dir);
    try {
      const tokenizer = (await AutoTokenizer.from_pretrained(name)) as unknown as LoadedTokenizer;
      const model = (await AutoModel.from_pretrained(name, {
        dtype: info.dtype,
        session_options: {
          intraOpNumThreads: Math.max(1, options.threads ?? 1),
          interOpNumThreads: 1,
        },
      })) as unknown as LoadedModel;
      const wordPiece = WordPieceTokenizer.load(path.join(resolved.dir, 'tokenizer.json'));
      return new TransformersEmbedder(info, tokenizer, model, options.maxBatchTokens ?? info.batchTokens, wordPiece, Tensor);
    } catch (err) {
      throw new ModelError(
        'model-corrupt',
        `Could not load the model in ${resolved.dir} (${weightsFile(info)}): ${(err as Error).message}`,
      );
    }
  }

  forgetCaches(): void {
    this.wordPiece?.forgetWords();
  }

  count(text: string): number {
    const prefixed = this.info.documentPrefix + text;
    return this.wordPiece ? this.wordPiece.count(prefixed) : this.tokenizer.encode(prefixed).length;
  }

  async embedQuery(text: string): Promise<Float32Array> {
    const [vector] = await this.run([this.info.queryPrefix + text]);
    return vector!;
  }

  async embedDocuments(texts: readonly string[], ids?: readonly (Int32Array | undefined)[]): Promise<Float32Array[]> {
    const prefixed = texts.map((t) => this.info.documentPrefix + t);
    // With the fast tokenizer every text becomes ids (here, or ahead on the parsing thread), and
    // batches are cut by exact token counts; otherwise by a length estimate.
    const encoded = this.wordPiece ? prefixed.map((t, i) => ids?.[i] ?? this.wordPiece!.encode(t, this.info.maxTokens)) : undefined;
    const size = (i: number) => (encoded ? encoded[i]!.length : Math.min(this.info.maxTokens, Math.ceil(prefixed[i]!.length / 2)));
    // Similar lengths in one batch waste less work on padding.
    const order = prefixed.map((_, i) => i).sort((a, b) => size(a) - size(b));
    const result = new Array<Float32Array>(texts.length);
    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      while (end < order.length && (end + 1 - start) * size(order[end]!) <= this.maxBatchTokens) end++;
      const batch = order.slice(start, end);
      const vectors = encoded ? await this.infer(this.tensors(batch.map((i) => encoded[i]!))) : await this.run(batch.map((i) => prefixed[i]!));
      batch.forEach((i, j) => (result[i] = vectors[j]!));
      start = end;
    }
    return result;
  }

  private async run(texts: string[]): Promise<Float32Array[]> {
    const inputs = this.wordPiece
      ? this.tensors(texts.map((t) => this.wordPiece!.encode(t, this.info.maxTokens)))
      : this.tokenizer(texts, { padding: true, truncation: true, max_length: this.info.maxTokens });
    return this.infer(inputs);
  }

  private async infer(inputs: { attention_mask: { data: BigInt64Array; dims: number[] } }): Promise<Float32Array[]> {
    const output = await this.model(inputs as unknown as Record<string, unknown>);
    const hidden = output['sentence_embedding'] ?? output['last_hidden_state'] ?? Object.values(output)[0]!;
    if (hidden.dims.length === 2) return this.rows(hidden.data, hidden.dims[0]!, hidden.dims[1]!);
    const [batch, seq, dim] = hidden.dims as [number, number, number];
    // Read through the tensors once: their properties sit behind a Proxy, slow in a hot loop.
    const data = hidden.data;
    const mask = inputs.attention_mask.data;
    const vectors: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const v = new Float32Array(dim);
      if (this.info.pooling === 'cls') {
        v.set(data.subarray(b * seq * dim, b * seq * dim + dim));
      } else {
        let n = 0;
        for (let t = 0; t < seq; t++) {
          if (mask[b * seq + t] === 0n) continue;
          n++;
          const off = (b * seq + t) * dim;
          for (let d = 0; d < dim; d++) v[d]! += data[off + d]!;
        }
        if (n > 0) for (let d = 0; d < dim; d++) v[d]! /= n;
      }
      if (this.info.normalize) normalizeInPlace(v);
      vectors.push(v);
    }
    return vectors;
  }

  /** A model that pools inside its graph (Nearby's own) returns one row per text. */
  private rows(data: Float32Array, batch: number, dim: number): Float32Array[] {
    const vectors = splitRows(data.subarray(0, batch * dim), dim);
    return this.info.normalize ? vectors.map(normalizeInPlace) : vectors;
  }

  /** Padded model inputs, as the transformers.js tokenizer would produce them. */
  private tensors(encoded: Int32Array[]): { input_ids: unknown; attention_mask: { data: BigInt64Array; dims: number[] }; token_type_ids: unknown } {
    const width = Math.max(...encoded.map((e) => e.length));
    const ids = new BigInt64Array(encoded.length * width);
    const mask = new BigInt64Array(encoded.length * width);
    // Written as the low halves of the int64s (little-endian, as on every platform VS Code runs on): no BigInt per token.
    const idWords = new Int32Array(ids.buffer);
    const maskWords = new Int32Array(mask.buffer);
    encoded.forEach((e, b) => {
      for (let t = 0, at = 2 * b * width; t < e.length; t++, at += 2) {
        idWords[at] = e[t]!;
        maskWords[at] = 1;
      }
    });
    const dims = [encoded.length, width];
    return {
      input_ids: new this.Tensor('int64', ids, dims),
      attention_mask: new this.Tensor('int64', mask, dims) as unknown as { data: BigInt64Array; dims: number[] },
      token_type_ids: new this.Tensor('int64', new BigInt64Array(encoded.length * width), dims),
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

export function normalizeInPlace(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
