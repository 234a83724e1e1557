/**
 * What every agent shares: request sanity checks, turning model names into
 * candidate models, the fallback chain with its deadlines and breaker, and the
 * normalized result (`AgentResult`: metadata at the commit point, then events).
 * OnlineAgent and LocalAgent differ only in what they serve first; what each
 * failure means (retry, breaker, skip a backup) is one table, failure-policy.ts,
 * whichever agent meets it: an offline `local/…` backup of an OnlineAgent is
 * never retried either.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { ChatRequest, UpstreamChatRequest } from '../../protocol/chat-request.ts';
import type { Backend } from '../../protocol/chat-response.ts';
import { invalidRequest, type GatewayError } from '../../protocol/gateway-error.ts';
import type { ModelName } from '../../protocol/model-name.ts';
import type { NativeRequest } from '../../protocol/native-passthrough.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { fallbackPolicy, type AgentCandidate, type AgentResult, type FallbackPolicy } from './agent-types.ts';
import { isolateCircuitBreaker, type CircuitBreaker } from './circuit-breaker.ts';
import { runWithFallback } from './fallback-runner.ts';
import { checkRequestSanity } from './request-sanity.ts';

/** A model name made callable. */
export interface ResolvedModel {
  model: ChatModel;
  backend: Backend;
  /** How long this model may take to yield its first event. */
  attemptTimeoutMs: number;
}

/** Makes a model callable; undefined when it cannot be offered (its provider has no key). */
export type ModelResolver = (name: ModelName) => ResolvedModel | undefined;

export interface AgentOptions {
  primary: ModelName;
  /** Tried in order when the primary fails in a way a backup can fix. */
  backups?: readonly ModelName[];
  resolveModel: ModelResolver;
  deps?: RuntimeDeps;
  policy?: FallbackPolicy;
  breaker?: CircuitBreaker;
}

/** `model` standing in the chain, answering every call with `refusal` and calling nothing. */
function refusingModel(model: ChatModel, refusal: GatewayError): ChatModel {
  return {
    provider: model.provider,
    modelId: model.modelId,
    // eslint-disable-next-line require-yield -- refuses before any event
    async *stream(): AsyncGenerator<ChatEvent, void, undefined> {
      throw refusal;
    },
  };
}

export abstract class BaseAgent {
  /** Which transport the primary model uses. */
  readonly backend: Backend;
  readonly primary: ModelName;
  readonly backups: readonly ModelName[];
  protected readonly resolveModel: ModelResolver;
  protected readonly deps: RuntimeDeps;
  protected readonly policy: FallbackPolicy;
  protected readonly breaker: CircuitBreaker;

  /** `backend` is the subclass's transport; a primary of the other transport is a 400 naming `model`. */
  constructor(options: AgentOptions, backend: Backend) {
    if (options.primary.transport !== backend) {
      throw invalidRequest(`The ${backend} agent cannot serve '${options.primary.full}'.`, 'model');
    }
    this.backend = backend;
    this.primary = options.primary;
    this.backups = options.backups ?? [];
    this.resolveModel = options.resolveModel;
    this.deps = options.deps ?? defaultRuntimeDeps;
    this.policy = options.policy ?? fallbackPolicy();
    this.breaker = options.breaker ?? isolateCircuitBreaker;
  }

  /**
   * Serves `request`: resolves at the commit point (a streaming request's
   * first event; a non-streaming request's finish), with the metadata so far
   * and every event from the first on; rejects with a GatewayError when no
   * model can serve. `signal` is the client's. With `native` (a surface whose
   * format some backends speak), each candidate that takes that format gets
   * the client's own body, and every other one the translated `request`.
   */
  async run(request: ChatRequest, signal: AbortSignal, native?: NativeRequest): Promise<AgentResult> {
    checkRequestSanity(request);
    return runWithFallback({
      candidates: this.candidates(request, native),
      signal,
      deps: this.deps,
      policy: this.policy,
      breaker: this.breaker,
      // A JSON answer is sent whole, so it is committed only once complete.
      buffered: request.stream !== true,
    });
  }

  /** The primary, then each backup that can be offered, each with its own copy of the request. */
  protected candidates(request: ChatRequest, native?: NativeRequest): AgentCandidate[] {
    const candidates: AgentCandidate[] = [];
    for (const name of [this.primary, ...this.backups]) {
      const resolved = this.resolveModel(name);
      if (!resolved) continue;
      const takesNative = native !== undefined && (resolved.model.passthrough ?? []).includes(native.format);
      const candidate: AgentCandidate = {
        // A body that only its own format can carry is refused by the others, as a 400 would be.
        model: native?.untranslatable && !takesNative ? refusingModel(resolved.model, native.untranslatable) : resolved.model,
        backend: resolved.backend,
        request: this.requestFor(request, name),
        attemptTimeoutMs: resolved.attemptTimeoutMs,
      };
      if (takesNative) candidate.native = native;
      candidates.push(candidate);
    }
    return candidates;
  }

  /**
   * The request as `name` receives it: its own model name, none of our routing
   * fields. The one place they are removed; every hop after takes the type.
   */
  protected requestFor(request: ChatRequest, name: ModelName): UpstreamChatRequest {
    const { agent_type: _agentType, fallback_models: _fallbackModels, ...rest } = request;
    return { ...rest, model: name.model };
  }
}
