/**
 * What the tunnel connection needs from the rest of the bridge: the runner
 * registry implements it, tests plug in a fake. Keeps `bridge/connection/`
 * ignorant of runners and Python.
 */
import type { ChatEvent } from '../protocol/chat-events.ts';
import type { ChatRequest } from '../protocol/chat-request.ts';
import type { RunnerMemory, RunnerModelInfo } from './runners/runner.ts';

export interface BridgeModelInfo extends RunnerModelInfo {
  /** Registry name of the runner that serves this model (`mlx`, `vllm`). */
  runner: string;
}

export interface BridgeHandler {
  /** Registered runner names, for the hello frame and `GET /v1/bridge`. */
  runners(): string[];
  /** Every model the bridge can serve, with its state. */
  listModels(): Promise<BridgeModelInfo[]>;
  /** Which runner would serve `modelId` (the `x-agent-provider`), or undefined when none can. */
  runnerFor(modelId: string): string | undefined;
  /**
   * Runs one chat request for `modelId` (the id after `local/`). Yields progress,
   * deltas and one finish. Throws a GatewayError (`model_not_found`,
   * `runner_crashed`, `insufficient_memory`, …) on failure. Aborting `signal`
   * cancels generation.
   */
  generate(modelId: string, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  /** Memory figures across runners. */
  memory(): Promise<RunnerMemory>;
  /** Stops runners and child processes. */
  close(): Promise<void>;
}
