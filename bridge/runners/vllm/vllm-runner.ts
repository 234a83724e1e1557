/**
 * The `vllm` runner ("vllm-light"): a thin client of a `vllm serve`
 * OpenAI-compatible server at VLLM_BASE_URL. It streams chat completions
 * (the gateway aggregates non-streaming requests from the same stream), lists
 * `/v1/models` and checks `/health`. It does NOT load or unload models (a vLLM
 * server serves the model it was started with), report memory (vLLM exposes
 * only Prometheus gauges), or restart the server: see docs/bridge.md.
 */
import * as z from 'zod';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { openAIChatStreamTranslator } from '../../../protocol/openai-chat-stream.ts';
import { readSseEvents } from '../../../protocol/sse.ts';
import { tunnelError } from '../../../protocol/tunnel-errors.ts';
import { safeParseJson } from '../../../protocol/validate.ts';
import { samplingParams } from '../generation-config.ts';
import type { DeviceConfig, GenerationConfig, Runner, RunnerMemory, RunnerModelInfo } from '../runner.ts';

export interface VllmRunnerOptions {
  /** `http://host:8000` or `http://host:8000/v1`. */
  baseUrl: string;
  apiKey?: string;
  fetch: typeof fetch;
  log: (line: string) => void;
  /** Deadline for `/health` and `/v1/models`. */
  probeTimeoutMs?: number;
  /** Milliseconds, for how old the served-models list is (injected so tests control time). */
  now?: () => number;
}

/**
 * How long the server's model list is trusted before a request asks again. A
 * vLLM server serves what it was started with, so asking before every request
 * only added a round trip to each; a model missing from the list is asked
 * about again at once (a server restarted with another model is seen).
 */
export const SERVED_MODELS_TTL_MS = 10_000;

const modelsSchema = z.object({ data: z.array(z.object({ id: z.string().min(1) })) });
// vLLM answers OpenAI's `{"error": {"message"}}` (older: `{"object": "error", "message"}`); mlx_lm.server `{"error": "…"}`.
const errorBodySchema = z.object({
  error: z.union([z.string(), z.object({ message: z.string().nullish() })]).nullish(),
  message: z.string().nullish(),
});

/** The message of an error body (HTTP or in-band), whichever of the servers' shapes it has. */
function errorDetail(text: string): string | undefined {
  const json = safeParseJson(text);
  const parsed = json.ok ? errorBodySchema.safeParse(json.value) : undefined;
  const body = parsed?.success ? parsed.data : undefined;
  return (typeof body?.error === 'string' ? body.error : (body?.error?.message ?? body?.message)) ?? undefined;
}

export class VllmRunner implements Runner {
  readonly name = 'vllm';
  private readonly options: VllmRunnerOptions;
  private readonly origin: string;
  private served: { ids: string[]; at: number } | undefined;

  constructor(options: VllmRunnerOptions) {
    this.options = options;
    this.origin = options.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /** vLLM loads its model at start-up: this only checks that the server serves `modelId`. */
  async load(modelId: string, _deviceConfig?: DeviceConfig): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    if (this.served && now - this.served.at < SERVED_MODELS_TTL_MS && this.served.ids.includes(modelId)) return;
    const models = await this.fetchModels();
    if (!models.includes(modelId)) {
      throw tunnelError(
        'model_not_found',
        `The vLLM server at ${this.origin} does not serve ${modelId} (it serves: ${models.join(', ') || 'nothing'}); start \`vllm serve ${modelId}\` to serve it`,
      );
    }
  }

  /**
   * Streams `/v1/chat/completions`; aborting `signal` aborts the HTTP request, which vLLM turns into an abort.
   * The runner offers what its server lists (the bridge's offer rule): anything else is refused before it is sent.
   */
  async *generate(request: ChatRequest, generationConfig: GenerationConfig, signal: AbortSignal): AsyncIterable<ChatEvent> {
    if (!request.model) throw tunnelError('bad_request', 'A model is required', { param: 'model' });
    await this.load(request.model);
    let response: Response;
    try {
      response = await this.options.fetch(`${this.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json', accept: 'text/event-stream' }),
        body: JSON.stringify(this.body(request, generationConfig)),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw this.unreachable(error);
    }
    if (!response.ok || !response.body) throw await this.httpError(response);
    const translator = openAIChatStreamTranslator({
      errors: {
        malformed: (detail) => tunnelError('protocol', `The server at ${this.origin} ${detail}`),
        inBand: (data) => tunnelError('internal', `vLLM: ${errorDetail(data) ?? 'error in stream'}`),
        // A body that ends with no finish reason is a server that went away mid-answer (an HTTP/1.0
        // server such as mlx_lm.server ends its body by closing the connection, so a cut looks like an end).
        cutShort: () => tunnelError('runner_crashed', `The server at ${this.origin} stopped before the answer was complete`),
      },
    });
    const out: ChatEvent[] = [];
    try {
      for await (const event of readSseEvents(response.body)) {
        const complete = translator.push(event, out);
        yield* out.splice(0);
        if (complete) return;
      }
      if (signal.aborted) throw signal.reason;
      translator.end(out);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (GatewayError.isInstance(error)) throw error;
      throw tunnelError('runner_crashed', `The vLLM stream broke: ${String(error)}`);
    }
    yield* out.splice(0);
  }

  /** What the server serves, all of it loaded; [] (and a log line) when it cannot be reached. */
  async listModels(): Promise<RunnerModelInfo[]> {
    try {
      return (await this.fetchModels()).map((id) => ({ id, state: 'loaded' }));
    } catch (error) {
      this.options.log(`[vllm] cannot list models at ${this.origin}: ${GatewayError.isInstance(error) ? error.message : String(error)}`);
      return [];
    }
  }

  /** vLLM reports memory only as Prometheus gauges: nothing here. */
  async memory(): Promise<RunnerMemory> {
    return {};
  }

  /** Nothing to stop: the vLLM server is the user's own process. */
  async cleanup(): Promise<void> {}

  /** True when `GET /health` answers 200 (vLLM answers 503 once its engine is dead). */
  async health(): Promise<boolean> {
    try {
      const response = await this.probe('/health');
      return response.ok;
    } catch {
      return false;
    }
  }

  private body(request: ChatRequest, config: GenerationConfig): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: config.maxTokens,
    };
    if (config.stop.length > 0) body.stop = config.stop;
    Object.assign(body, samplingParams(config));
    // vLLM understands these OpenAI fields natively.
    if (request.tools) body.tools = request.tools;
    if (request.tool_choice) body.tool_choice = request.tool_choice;
    if (request.response_format) body.response_format = request.response_format;
    if (request.logit_bias) body.logit_bias = request.logit_bias;
    if (request.chat_template_kwargs) body.chat_template_kwargs = request.chat_template_kwargs;
    return body;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.options.apiKey ? { ...extra, authorization: `Bearer ${this.options.apiKey}` } : extra;
  }

  private async probe(path: string): Promise<Response> {
    return this.options.fetch(`${this.origin}${path}`, {
      headers: this.headers(),
      signal: AbortSignal.timeout(this.options.probeTimeoutMs ?? 5_000),
    });
  }

  private async fetchModels(): Promise<string[]> {
    let response: Response;
    try {
      response = await this.probe('/v1/models');
    } catch (error) {
      throw this.unreachable(error);
    }
    if (!response.ok) throw await this.httpError(response);
    const json = safeParseJson(await response.text());
    const parsed = json.ok ? modelsSchema.safeParse(json.value) : undefined;
    if (!parsed?.success) throw tunnelError('protocol', 'The vLLM server answered /v1/models with an unexpected body');
    const ids = parsed.data.data.map((model) => model.id);
    this.served = { ids, at: (this.options.now ?? Date.now)() };
    return ids;
  }

  private unreachable(error: unknown): GatewayError {
    const reason = error instanceof Error ? error.message : String(error);
    return tunnelError('runner_crashed', `The vLLM server at ${this.origin} is not reachable (${reason}); is \`vllm serve\` running?`);
  }

  private async httpError(response: Response): Promise<GatewayError> {
    const detail = errorDetail(await response.text().catch(() => '')) ?? `HTTP ${response.status}`;
    const message = `vLLM: ${detail}`.slice(0, 1000);
    if (response.status === 400 || response.status === 422) return tunnelError('bad_request', message);
    if (response.status === 404) {
      this.served = undefined; // what it serves has changed under us: ask again next time
      return tunnelError('model_not_found', message);
    }
    if (response.status === 429 || response.status === 503) return tunnelError('busy', message);
    return tunnelError('internal', message);
  }
}
