// A model's lifecycle state as the repository extension reports it, and a row of the index.

/** States as the repository extension reports them. */
export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelState;
  readonly reason: string;
}
