/** Completion ids and timestamps, as OpenAI shapes them. */
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';

/** `chatcmpl-<random>` */
export function completionId(deps: Pick<RuntimeDeps, 'generateId'>): string {
  return `chatcmpl-${deps.generateId()}`;
}

/** Seconds since the epoch, as `created` wants. */
export function createdSeconds(deps: Pick<RuntimeDeps, 'now'>): number {
  return Math.floor(deps.now() / 1000);
}
