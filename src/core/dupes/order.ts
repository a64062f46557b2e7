import type { FileRole } from '../scan/fileRole';
import type { DupeGroup } from './types';

/** Roles from the one a user most wants to clean up to the one they least can. */
export const ROLE_ORDER: readonly FileRole[] = ['source', 'docs', 'example', 'test', 'config', 'generated', 'vendored'];

/**
 * The order groups are listed in: by role (source first: on a real project most groups are test
 * boilerplate, which a user acts on last), then by impact.
 */
export function compareGroups(a: Pick<DupeGroup, 'role' | 'impact'>, b: Pick<DupeGroup, 'role' | 'impact'>): number {
  return ROLE_ORDER.indexOf(a.role ?? 'source') - ROLE_ORDER.indexOf(b.role ?? 'source') || b.impact - a.impact;
}
