import { defaultDupeOptions, type DupeModel } from './defaults';
import { DupeIndex, TokenCache } from './dupeIndex';
import { indexedSource } from './source';
import { compareGroups, ROLE_ORDER } from './order';
import type { DupeOptions, DupeReport } from './types';
import type { FileRole } from '../scan/fileRole';
import type { IndexStore } from '../store/indexStore';

export interface IndexedRoot {
  root: string;
  contents: Pick<IndexStore, 'paths' | 'fileState' | 'chunksOf' | 'vectorFor'>;
}

interface RootState {
  cache: TokenCache;
  index?: DupeIndex;
  optionsKey?: string;
  queue: Promise<unknown>;
}

/**
 * Keeps one DupeIndex per folder alive between requests, so asking again after an edit costs only
 * the changed files. Asking with other options starts a new index but keeps the tokenized files.
 */
export class DupeService {
  private readonly roots = new Map<string, RootState>();

  constructor(private readonly model: DupeModel) {}

  /** `roles`: only groups of these roles (see `DupeGroup.role`); all when absent. */
  find(target: IndexedRoot, overrides: Partial<DupeOptions> = {}, limit?: number, signal?: AbortSignal, roles?: readonly FileRole[]): Promise<DupeReport> {
    let state = this.roots.get(target.root);
    if (!state) this.roots.set(target.root, (state = { cache: new TokenCache(), queue: Promise.resolve() }));
    const s = state;
    // One update at a time per folder: two interleaved updates would each see half of the other's changes.
    const run = async (): Promise<DupeReport> => {
      const options: DupeOptions = { ...defaultDupeOptions(this.model), ...definedOnly(overrides) };
      const key = JSON.stringify(options);
      if (!s.index || s.optionsKey !== key) {
        s.index = new DupeIndex(options, s.cache);
        s.optionsKey = key;
      }
      const update = await s.index.update(indexedSource(target.root, target.contents), signal);
      const roleOf = (p: string) => target.contents.chunksOf(p)[0]?.role ?? 'source';
      const groups = s.index
        .groups()
        .map((g) => ({ ...g, role: ROLE_ORDER.find((r) => g.members.some((m) => roleOf(m.path) === r)) ?? 'source' }))
        .filter((g) => !roles || roles.includes(g.role))
        .sort(compareGroups);
      return { root: target.root, options, groups: limit !== undefined ? groups.slice(0, limit) : groups, total: groups.length, update };
    };
    const next = s.queue.then(run, run);
    s.queue = next.catch(() => undefined);
    return next;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
