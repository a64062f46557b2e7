import * as vscode from 'vscode';
import { DEFAULT_MAX_POINTS } from '../core/map/workspaceMap';
import { MAX_MAP_POINTS } from '../worker/protocol';

/** One immutable, clamped reading of Nearby's settings. */
export class NearbyConfig {
  private constructor(
    readonly model: string,
    readonly modelPath: string,
    readonly include: readonly string[],
    readonly exclude: readonly string[],
    readonly maxFileSize: number,
    readonly threads: number,
    readonly indexOnStartup: boolean,
    readonly resultCount: number,
    readonly mapMaxPoints: number,
  ) {}

  static read(): NearbyConfig {
    const c = vscode.workspace.getConfiguration('nearby');
    const strings = (key: string) => (c.get<unknown[]>(key) ?? []).filter((s): s is string => typeof s === 'string' && s.trim() !== '');
    const clamp = (v: number | undefined, lo: number, hi: number, d: number) => (typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.round(v))) : d);
    return new NearbyConfig(
      (c.get<string>('model') ?? '').trim() || 'nearby-code-small',
      (c.get<string>('modelPath') ?? '').trim(),
      strings('include'),
      strings('exclude'),
      clamp(c.get<number>('maxFileSize'), 1_000, 100_000_000, 1_000_000),
      clamp(c.get<number>('threads'), 0, 64, 0),
      c.get<boolean>('indexOnStartup') ?? true,
      clamp(c.get<number>('resultCount'), 1, 200, 20),
      clamp(c.get<number>('map.maxPoints'), 100, MAX_MAP_POINTS, DEFAULT_MAX_POINTS),
    );
  }

  /** The model the worker should load: a folder wins over a tier or hub id. */
  get modelSpec(): string {
    return this.modelPath || this.model;
  }

  /** Settings whose change needs a new worker (and, for the model, a new index). */
  workerKey(): string {
    return JSON.stringify([this.modelSpec, this.include, this.exclude, this.maxFileSize, this.threads]);
  }

  isEqualTo(other: NearbyConfig): boolean {
    return this.workerKey() === other.workerKey() && this.indexOnStartup === other.indexOnStartup && this.resultCount === other.resultCount && this.mapMaxPoints === other.mapMaxPoints;
  }
}

/** Globs from `files.exclude` and `search.exclude` that are switched on, for one folder. */
export function editorExcludes(folder: vscode.WorkspaceFolder): string[] {
  const globs: string[] = [];
  for (const section of ['files', 'search']) {
    const map = vscode.workspace.getConfiguration(section, folder.uri).get<Record<string, unknown>>('exclude') ?? {};
    // `when` clauses (objects) depend on sibling files; they are rare and skipped here.
    for (const [glob, on] of Object.entries(map)) if (on === true) globs.push(glob.replace(/^\*\*\//, '**/'));
  }
  return globs;
}
