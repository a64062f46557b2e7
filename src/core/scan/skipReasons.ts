/** Why a file was not indexed. Every skipped file is counted under exactly one reason. */
export type SkipReason =
  | 'ignored'
  | 'excluded'
  | 'too-large'
  | 'binary'
  | 'minified'
  | 'unreadable'
  | 'vanished'
  | 'symlink-loop'
  | 'broken-symlink';

export const SKIP_REASON_TEXT: Record<SkipReason, string> = {
  ignored: 'matched .gitignore, .nearbyignore or a default exclude',
  excluded: 'matched an exclude glob or no include glob',
  'too-large': 'larger than the size cap',
  binary: 'binary content',
  minified: 'minified or generated (very long lines)',
  unreadable: 'permission denied or read error',
  vanished: 'deleted while indexing',
  'symlink-loop': 'symbolic link loop',
  'broken-symlink': 'symbolic link to a missing target',
};

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  detail?: string;
}

/** Counts per reason plus a bounded sample of paths, so reports stay small on huge trees. */
export class SkipReport {
  readonly counts = new Map<SkipReason, number>();
  readonly samples: SkippedFile[] = [];

  constructor(private readonly maxSamples = 200) {}

  add(skipped: SkippedFile): void {
    this.counts.set(skipped.reason, (this.counts.get(skipped.reason) ?? 0) + 1);
    if (skipped.reason !== 'ignored' && this.samples.length < this.maxSamples) this.samples.push(skipped);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}
