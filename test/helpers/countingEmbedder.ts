import { createHash } from 'node:crypto';
import type { Embedder } from '../../src/core/embed/embedder';
import type { ModelInfo } from '../../src/core/embed/modelInfo';

/**
 * A stand-in model for tests about *what* gets embedded (not how well): vectors derived from a
 * hash of the text, tokens counted as words, and every embedded text recorded.
 */
export class CountingEmbedder implements Embedder {
  readonly embedded: string[] = [];
  readonly info: ModelInfo = { id: 'counting', dimension: 8, maxTokens: 256, pooling: 'mean', normalize: true, queryPrefix: '', documentPrefix: '', dtype: 'fp32', batchTokens: 1024 };

  count(text: string): number {
    return text.match(/\w+|[^\s\w]/g)?.length ?? 0;
  }

  async embedDocuments(texts: readonly string[]): Promise<Float32Array[]> {
    this.embedded.push(...texts);
    return texts.map((t) => this.vector(t));
  }

  async embedQuery(text: string): Promise<Float32Array> {
    return this.vector(text);
  }

  async dispose(): Promise<void> {}

  private vector(text: string): Float32Array {
    const bytes = createHash('sha256').update(text).digest();
    const v = Float32Array.from(bytes.subarray(0, 8), (b) => b - 127.5);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  }
}
