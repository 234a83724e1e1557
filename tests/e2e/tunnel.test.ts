/**
 * The tunnel end to end, with real processes: the Worker under wrangler dev,
 * a real bridge process (the test handler instead of MLX), and the official
 * `openai` client asking for `local/…` as any user would.
 */
import OpenAI from 'openai';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/start-gateway.ts';
import { startTestBridge, type TestBridgeProcess } from './tunnel-processes.ts';

const GATEWAY_API_KEY = `gk-e2e-${crypto.randomUUID()}`;
const BRIDGE_TOKEN = `bt-e2e-${crypto.randomUUID()}`;

let gateway: RunningGateway;
let client: OpenAI;
const bridges: TestBridgeProcess[] = [];

beforeAll(async () => {
  gateway = await startGateway({ vars: { GATEWAY_API_KEY, BRIDGE_TOKEN, AGENT_DEFAULT_TRANSPORT: 'local' } });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: GATEWAY_API_KEY, maxRetries: 0 });
});

afterEach(async () => {
  for (const bridge of bridges.splice(0)) await bridge.kill('SIGKILL');
});

afterAll(async () => {
  await gateway?.stop();
});

async function connectedBridge(): Promise<TestBridgeProcess> {
  const bridge = startTestBridge(gateway.url, BRIDGE_TOKEN);
  bridges.push(bridge);
  await bridge.waitForState('connected');
  return bridge;
}

const ask = (content: string): Array<{ role: 'user'; content: string }> => [{ role: 'user', content }];

describe('local models through the tunnel', () => {
  it('answers a local request with 503 bridge_offline and Retry-After while no bridge is connected', async () => {
    const failure = await client.chat.completions.create({ model: 'local/tiny', messages: ask('hi') }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.code).toBe('bridge_offline');
    expect(error.headers?.get('retry-after')).toBe(String(BRIDGE_OFFLINE_RETRY_AFTER_MS / 1000));
    expect(error.headers?.get('retry-after-ms')).toBe(String(BRIDGE_OFFLINE_RETRY_AFTER_MS));
  });

  it('serves streaming and non-streaming requests once the bridge connects, naming the runner', async () => {
    await connectedBridge();

    const { data: stream, response } = await client.chat.completions
      .create({ model: 'local/tiny', messages: ask('tokens:20'), stream: true })
      .withResponse();
    expect(response.headers.get('x-agent-backend')).toBe('local');
    expect(response.headers.get('x-agent-provider')).toBe('test');
    expect(response.headers.get('x-agent-model')).toBe('local/tiny');
    let text = '';
    let finishReason: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
    }
    expect(text).toBe(Array.from({ length: 20 }, (_, index) => `t${index} `).join(''));
    expect(finishReason).toBe('stop');

    const completion = await client.chat.completions.create({ model: 'local/tiny', messages: ask('hello there') });
    expect(completion.choices[0]?.message.content).toBe('You said: hello there');

    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(expect.arrayContaining(['local/tiny', 'local/sleepy']));

    const status = await fetch(`${gateway.url}/v1/bridge`, { headers: { authorization: `Bearer ${GATEWAY_API_KEY}` } });
    expect(await status.json()).toMatchObject({ connected: true, runners: ['test'], in_flight: 0 });
  });

  it('ends a stream with an error when the bridge is killed mid-stream, then serves again after a restart', async () => {
    const bridge = await connectedBridge();
    const stream = await client.chat.completions.create({ model: 'local/tiny', messages: ask('tokens:1000 delay:10'), stream: true });
    let text = '';
    let sawFinish = false;
    const failure = await (async () => {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) sawFinish = true;
        if (text.length > 0 && bridge.child.exitCode === null && bridge.child.signalCode === null) void bridge.kill('SIGKILL');
      }
      return undefined;
    })().catch((error: unknown) => error);
    // The gateway's in-band error, as the SDK raises it: not a dropped connection or a parse error.
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).not.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sawFinish).toBe(false);
    expect(text.length).toBeGreaterThan(0);

    await connectedBridge();
    const completion = await client.chat.completions.create({ model: 'local/tiny', messages: ask('tokens:3') });
    expect(completion.choices[0]?.message.content).toBe('t0 t1 t2 ');
  });

  it('lets a running request finish when the bridge is stopped with SIGTERM', async () => {
    const bridge = await connectedBridge();
    const stream = await client.chat.completions.create({ model: 'local/tiny', messages: ask('tokens:10 delay:30'), stream: true });
    let text = '';
    let finishReason: string | null = null;
    let exitCode: Promise<number | null> | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      // The first content proves the bridge is running the request: now ask it to stop.
      if (text.length > 0) exitCode ??= bridge.kill('SIGTERM');
    }
    expect(text).toBe(Array.from({ length: 10 }, (_, index) => `t${index} `).join(''));
    expect(finishReason).toBe('stop');
    expect(await exitCode).toBe(0);
  });
});
