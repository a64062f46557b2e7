export { DupeIndex, TokenCache } from './dupeIndex';
export { defaultDupeOptions, defaultThreshold } from './defaults';
export { indexedSource } from './source';
export type { DupeGroup, DupeKind, DupeMember, DupeOptions, DupeSource, DupeUpdateReport } from './types';
export { DupeService, type IndexedRoot } from './service';
export { compareGroups } from './order';
export type { DupeReport } from './types';
export { compareFragments, likenessOf, type Comparison, type Likeness } from './likeness';
