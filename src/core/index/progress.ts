export type IndexPhase = 'loading-model' | 'scanning' | 'indexing' | 'saving' | 'done' | 'cancelled';

export interface IndexProgress {
  phase: IndexPhase;
  filesDone: number;
  filesTotal: number;
  chunksEmbedded: number;
  /** Seconds left at the current rate, once it can be estimated. */
  etaSeconds?: number;
}

export interface IndexSummary {
  filesScanned: number;
  filesSkipped: Record<string, number>;
  filesUnchanged: number;
  filesIndexed: number;
  filesRemoved: number;
  chunksNew: number;
  chunksChanged: number;
  chunksRemoved: number;
  chunksReused: number;
  chunksTotal: number;
  seconds: number;
  cancelled: boolean;
  /** Set when the previous index was discarded (model or chunker changed, format upgrade). */
  rebuiltBecause?: string;
  /** Per-file problems worth showing: unreadable files, files that vanished mid-run. */
  warnings: string[];
}
