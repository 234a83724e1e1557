/**
 * The tunnel as a ChatModel: what LocalAgent streams from. Each call is one
 * `fetch` to the user's BridgeTunnel, whose NDJSON answer is turned back into
 * ChatEvents; cancelling the iterator (or aborting the signal) cancels that
 * body, which the object turns into a `cancel` frame for the bridge.
 *
 * Also the status queries behind `GET /v1/bridge` and the local half of `/v1/models`.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel, ChatModelCall } from '../../protocol/chat-model.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { gatewayErrorFromTunnel, tunnelError } from '../../protocol/tunnel-errors.ts';
import { raceAbort } from '../../protocol/time.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import type { Env } from '../config.ts';
import { bridgeStatusSchema, type BridgeStatus } from './bridge-record.ts';
import { TUNNEL_URLS, tunnelStub, type TunnelChatBody } from './tunnel-endpoints.ts';
import { readStreamLines } from './tunnel-stream-lines.ts';

export type { BridgeStatus } from './bridge-record.ts';

/** Used as `provider` until the tunnel names the runner (it does before the first event). */
const UNKNOWN_RUNNER = 'local';
const LOCAL_PREFIX = 'local/';

// Runner per model, learnt from status queries and responses (per isolate, best effort).
const knownRunners = new Map<string, string>();
const runnerKey = (userId: string, model: string): string => `${userId}\u0000${model}`;

/**
 * A ChatModel for `local/<model>` served by the user's bridge; `model` is the bare id.
 * `provider` is the runner (`mlx`, `vllm`) and is exact once the first event has
 * been yielded; before that it is the last known runner for the model, or `local`.
 */
export function createTunnelChatModel(env: Env, userId: string, model: string): ChatModel {
  const key = runnerKey(userId, model);
  return {
    get provider(): string {
      return knownRunners.get(key) ?? UNKNOWN_RUNNER;
    },
    modelId: `${LOCAL_PREFIX}${model}`,
    stream(call: ChatModelCall): AsyncIterable<ChatEvent> {
      return streamThroughTunnel(env, userId, call, (runner) => knownRunners.set(key, runner));
    },
  };
}

async function* streamThroughTunnel(
  env: Env,
  userId: string,
  call: ChatModelCall,
  onRunner: (runner: string) => void,
): AsyncGenerator<ChatEvent, void, undefined> {
  call.signal.throwIfAborted();
  const body: TunnelChatBody = { request: call.request };
  const opening = tunnelStub(env, userId).fetch(TUNNEL_URLS.chat, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let response: Response;
  try {
    response = await raceAbort(opening, call.signal);
  } catch (error) {
    if (call.signal.aborted) {
      // The caller left while the object was opening the request. The signal is deliberately not
      // given to the stub's fetch: aborting that fetch drops the object's answer without cancelling
      // it, so the bridge would never hear a `cancel`. Cancelling the answer once it arrives does that.
      void opening.then((late) => late.body?.cancel(call.signal.reason)).catch(() => undefined);
      throw call.signal.reason;
    }
    throw tunnelError('bridge_offline', 'The bridge tunnel could not be reached', { cause: error });
  }
  if (call.signal.aborted) {
    // Aborted between the answer arriving and this line: a listener added now would never fire.
    await response.body?.cancel(call.signal.reason).catch(() => undefined);
    throw call.signal.reason;
  }
  if (!response.body) throw tunnelError('protocol', 'The bridge tunnel answered without a body');

  const reader = response.body.getReader();
  const onAbort = (): void => {
    reader.cancel(call.signal.reason).catch(() => undefined);
  };
  call.signal.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    for await (const item of readStreamLines(reader)) {
      call.signal.throwIfAborted();
      if (!item.ok) throw tunnelError('protocol', 'The bridge tunnel sent an unreadable response');
      const line = item.line;
      if (line.t === 'meta') {
        if (line.runner) onRunner(line.runner);
      } else if (line.t === 'error') {
        finished = true;
        throw gatewayErrorFromTunnel(line.error);
      } else {
        for (const event of line.events) {
          if (event.type === 'finish') finished = true;
          yield event;
        }
        if (finished) return;
      }
    }
    call.signal.throwIfAborted();
    throw tunnelError('protocol', 'The bridge response ended before it finished');
  } finally {
    call.signal.removeEventListener('abort', onAbort);
    // Early exit (consumer `return()`, abort, error): cancelling the body tells the object.
    if (!finished) await reader.cancel('client went away').catch(() => undefined);
    else reader.releaseLock();
  }
}

/** The user's tunnel status: connection, last-seen models and runners, requests in flight. */
export async function getBridgeStatus(env: Env, userId: string): Promise<BridgeStatus> {
  const response = await tunnelStub(env, userId).fetch(TUNNEL_URLS.status);
  const json = safeParseJson(await response.text());
  const parsed = json.ok ? bridgeStatusSchema.safeParse(json.value) : undefined;
  if (!response.ok || !parsed?.success) {
    throw new GatewayError({ status: 502, type: 'server_error', code: 'tunnel_error', message: 'The bridge tunnel status is unavailable' });
  }
  for (const entry of parsed.data.models) knownRunners.set(runnerKey(userId, entry.id.slice(LOCAL_PREFIX.length)), entry.runner);
  return parsed.data;
}

/** Every model the connected or last-seen bridge offers, as `local/<id>`; `online` is false while it is away. */
export async function listLocalModels(
  env: Env,
  userId: string,
): Promise<Array<{ id: string; runner: string; state: string; online: boolean }>> {
  const status = await getBridgeStatus(env, userId);
  return status.models.map(({ id, runner, state, online }) => ({ id, runner, state, online }));
}
