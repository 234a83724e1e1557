/**
 * The runner registry and the BridgeHandler over it: the factories it is built from, lookup,
 * unknown runners, and which runner a model goes to.
 */
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { defaultRuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { loadBridgeConfig, type BridgeConfig } from '../../../bridge/config.ts';
import { RegistryHandler } from '../../../bridge/registry-handler.ts';
import { builtinRunnerFactories } from '../../../bridge/runners/builtin-runners.ts';
import { RunnerRegistry, selectRunnerName, type RunnerFactory } from '../../../bridge/runners/registry.ts';
import type { GenerationConfig, Runner } from '../../../bridge/runners/runner.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { TRAVERSAL_MODEL_IDS } from '../../helpers/hostile-model-ids.ts';
import { collect } from './mlx-harness.ts';

/** A runner that answers with what it was asked, so tests see what reached it. */
class EchoRunner implements Runner {
  readonly name: string;
  readonly seen: Array<{ model: string | undefined; config: GenerationConfig }> = [];
  cleaned = false;
  private readonly models: string[];
  constructor(name: string, models: string[] = []) {
    this.name = name;
    this.models = models;
  }
  async load(): Promise<void> {}
  async *generate(request: { model?: string }, config: GenerationConfig): AsyncIterable<ChatEvent> {
    this.seen.push({ model: request.model, config });
    yield { type: 'text-delta', text: `${this.name}:${request.model}` };
    yield { type: 'finish', finishReason: 'stop' };
  }
  async listModels() {
    return this.models.map((id) => ({ id, state: 'available' as const }));
  }
  async memory() {
    return { activeBytes: 10 };
  }
  async cleanup() {
    this.cleaned = true;
  }
}

function config(overrides: Partial<BridgeConfig> = {}): BridgeConfig {
  return { ...loadBridgeConfig({ config: undefined }, { HOME: '/nonexistent-home' }), ...overrides };
}

/** A factory handing back `runner`. */
const serving = (name: string, runner: Runner): RunnerFactory => ({ name, create: () => runner });

/** The CLI's registry (the built-in runners) plus `extra`, over `c`. */
const registryOf = (c: BridgeConfig, extra: RunnerFactory[] = []) =>
  new RunnerRegistry([...builtinRunnerFactories(), ...extra], { config: c, deps: defaultRuntimeDeps, log: () => undefined });

describe('runner registry', () => {
  it('has mlx and vllm built in, and vllm only when VLLM_BASE_URL is set', () => {
    expect(registryOf(config()).known()).toEqual(['mlx', 'vllm']);
    expect(registryOf(config()).names()).toEqual(['mlx']);
    expect(registryOf(config({ vllmBaseUrl: 'http://127.0.0.1:8000' })).names()).toEqual(['mlx', 'vllm']);
  });

  it('creates a registered runner once and hands the same one back', () => {
    let created = 0;
    const counting: RunnerFactory = {
      name: 'counting',
      create: () => {
        created += 1;
        return new EchoRunner('counting');
      },
    };
    const registry = registryOf(config(), [counting]);
    expect(registry.getRunner('counting')).toBe(registry.getRunner('counting'));
    expect(created).toBe(1);
  });

  it('refuses an unknown runner with an error naming the known ones', () => {
    const registry = registryOf(config());
    expect(() => registry.getRunner('llamacpp')).toThrow(/No runner named 'llamacpp'.*known: .*mlx/);
  });

  it('refuses the vLLM runner with a hint when VLLM_BASE_URL is not set', () => {
    const registry = registryOf(config());
    expect(() => registry.getRunner('vllm')).toThrow(/set VLLM_BASE_URL/);
  });

  it('picks the runner from the config file first, then LOCAL_MODEL_PATHS, then the default mlx', () => {
    const settings = {
      models: { 'served/by-vllm': { runner: 'vllm' } },
      modelPaths: { 'my-llama': '/weights/llama', 'served/by-vllm': '/weights/ignored' },
      defaultRunner: 'mlx',
    };
    expect(selectRunnerName('served/by-vllm', settings)).toBe('vllm');
    expect(selectRunnerName('my-llama', settings)).toBe('mlx');
    expect(selectRunnerName('mlx-community/anything', settings)).toBe('mlx');
    expect(selectRunnerName('listed-by-vllm', settings, new Map([['listed-by-vllm', 'vllm']]))).toBe('vllm');
  });
});

describe('registry handler', () => {
  it('routes a request to its runner with the bare model id and the resolved sampling settings', async () => {
    const echo = new EchoRunner('echo');
    const handler = new RegistryHandler(registryOf(config({ models: { 'tiny/model': { runner: 'echo' } } }), [serving('echo', echo)]));
    expect(handler.runnerFor('tiny/model')).toBe('echo');
    const events: ChatEvent[] = [];
    const request = { model: 'local/tiny/model', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 12, temperature: 0.2, stop: 'END' };
    for await (const event of handler.generate('tiny/model', request, new AbortController().signal)) events.push(event);
    expect(events[0]).toEqual({ type: 'text-delta', text: 'echo:tiny/model' });
    expect(echo.seen[0]).toEqual({ model: 'tiny/model', config: { maxTokens: 12, temperature: 0.2, stop: ['END'] } });
  });

  it.each(TRAVERSAL_MODEL_IDS)('refuses %j with a 400 naming model before any runner sees it', async (id) => {
    const echo = new EchoRunner('echo');
    const handler = new RegistryHandler(registryOf(config({ defaultRunner: 'echo' }), [serving('echo', echo)]));
    const request = { model: `local/${id}`, messages: [{ role: 'user' as const, content: 'hi' }] };
    const error = await failure(collect(handler.generate(id, request, new AbortController().signal)));
    expect(error).toMatchObject({ status: 400, param: 'model', type: 'invalid_request_error' });
    expect(echo.seen).toEqual([]);
  });

  it('lists every enabled runner’s models with the runner that serves each, and configured ones', async () => {
    const handler = new RegistryHandler(
      registryOf(config({ modelPaths: { 'mine': '/weights/mine' }, models: { 'later/model': { runner: 'echo' } } }), [
        serving('echo', new EchoRunner('echo', ['shared/model', 'echo-only'])),
      ]),
    );
    const models = await handler.listModels();
    expect(models).toEqual(
      expect.arrayContaining([
        { id: 'mine', state: 'available', runner: 'mlx' },
        { id: 'echo-only', state: 'available', runner: 'echo' },
        { id: 'later/model', state: 'available', runner: 'echo' },
      ]),
    );
    // A model only a runner's listing knows goes to that runner afterwards.
    expect(handler.runnerFor('echo-only')).toBe('echo');
    expect(handler.runners()).toEqual(expect.arrayContaining(['mlx', 'echo']));
  });

  it('says no runner serves a model whose runner is not enabled here', () => {
    const handler = new RegistryHandler(registryOf(config({ models: { 'x/y': { runner: 'vllm' } } })));
    expect(handler.runnerFor('x/y')).toBeUndefined();
  });

  it('cleans up every runner it started on close', async () => {
    const echo = new EchoRunner('echo');
    const registry = registryOf(config(), [serving('echo', echo)]);
    registry.getRunner('echo');
    const handler = new RegistryHandler(registry);
    expect(await handler.memory()).toEqual({ activeBytes: 10 });
    await handler.close();
    expect(echo.cleaned).toBe(true);
  });
});
