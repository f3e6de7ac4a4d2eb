// Whether a loaded version is in use, which the memory budget asks before unloading it: requests
// queued or running, sequences (stateful models, text generation) still open.

import { SequenceBatcher } from '../scheduler/sequence-batcher.js';
import type { ModelVersion } from './model-version.js';

export function versionInUse(mv: ModelVersion): boolean {
  if (mv.kind === 'text-generation') return mv.textGeneration.running + mv.textGeneration.waiting > 0;
  if (mv.scheduler.pending > 0) return true;
  // A sequence's state lives in its slot between requests: unloading would lose it.
  return mv.scheduler instanceof SequenceBatcher && mv.scheduler.activeSequences + mv.scheduler.backlogSequences > 0;
}
