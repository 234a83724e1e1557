/**
 * The settings' `rag_archives` reach the caller with every completion: the
 * real settings service writes them to the test sqld, the real
 * loadAgentDefaults reads them back (each test its own user, so the default
 * user's row of settings-routes.test.ts is never touched), and the answer
 * carries them in `agent.rag_archives` and `x-agent-rag-archives`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { createSettingsService, loadAgentDefaults } from '../../functions/settings/index.ts';
import { chatInit, hello, readSse, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';
import { messagesInit } from './messages-fixture.ts';
import { sqldUrl } from './settings-harness.ts';

const mocks = suiteMocks('rag-archives');

/** Ids a header could not carry as written: a comma, spaces, `%`, non-ASCII. */
const ARCHIVES = ['notes-2026', '~/Documents/papers.zip', '🦙 notes, 2026', '100% "quoted"'];

/** What a client does with the header: split on commas, decode each part. */
function decodeArchives(header: string | null): string[] | null {
  return header === null ? null : header.split(',').map((part) => decodeURIComponent(part));
}

/** A gateway reading the settings of a user of its own, who saved `archives`. */
async function gatewayWithArchives(archives: string[] | undefined): Promise<TestGateway> {
  const userId = `rag-user-${crypto.randomUUID()}`;
  if (archives !== undefined) {
    const service = createSettingsService({ db: createDatabase({ url: sqldUrl, authToken: undefined }).db, userId, defaultTransport: 'online', now: Date.now });
    await service.patch({ rag_archives: archives });
  }
  return testGateway(mocks.origins, { loadAgentDefaults: (env) => loadAgentDefaults(env, { userId }) });
}

const withDatabase = { TURSO_DATABASE_URL: sqldUrl, TURSO_AUTH_TOKEN: '' };

beforeEach(async () => {
  await mocks.resetAll();
});

describe('rag_archives from the settings', () => {
  it('are in the body and the header of a non-streaming chat completion, exactly as saved', async () => {
    const gateway = await gatewayWithArchives(ARCHIVES);
    await mocks.openai.script([{ kind: 'reply', content: 'Hi' }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }), withDatabase);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-rag-archives')).toBe('notes-2026,~/Documents/papers.zip,%F0%9F%A6%99%20notes%2C%202026,100%25%20"quoted"');
    expect(decodeArchives(response.headers.get('x-agent-rag-archives'))).toEqual(ARCHIVES);
    const body = (await response.json()) as { agent: Record<string, unknown> };
    expect(body.agent).toMatchObject({ backend: 'online', provider: 'openai', model_id: 'openai/gpt-4o', rag_archives: ARCHIVES });
  });

  it('are in the header of a streaming chat completion, and the chunks stay as they were', async () => {
    const gateway = await gatewayWithArchives(['notes-2026']);
    await mocks.openai.script([{ kind: 'reply', content: 'Hi' }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, stream: true }), withDatabase);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-rag-archives')).toBe('notes-2026');
    const { data } = await readSse(response);
    expect(data.at(-1)).toBe('[DONE]');
    for (const chunk of data.slice(0, -1)) expect(JSON.parse(chunk)).not.toHaveProperty('agent');
  });

  it('reach /v1/messages too: the JSON Message and its header', async () => {
    const gateway = await gatewayWithArchives(['papers']);
    await mocks.anthropic.script([{ kind: 'reply', content: 'Hi' }]);
    const response = await gateway.fetch(
      '/v1/messages',
      messagesInit({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }),
      withDatabase,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-rag-archives')).toBe('papers');
    expect(((await response.json()) as { agent: unknown }).agent).toMatchObject({ rag_archives: ['papers'] });
  });

  it.each([
    ['settings that list none', [] as string[]],
    ['a user who never saved settings', undefined],
  ])('are absent, header and field, for %s', async (_name, archives) => {
    const gateway = await gatewayWithArchives(archives);
    await mocks.openai.script([{ kind: 'reply', content: 'Hi' }, { kind: 'reply', content: 'Hi' }]);
    const plain = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }), withDatabase);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-agent-rag-archives')).toBeNull();
    expect(plain.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    expect(((await plain.json()) as { agent: object }).agent).not.toHaveProperty('rag_archives');
    const streamed = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, stream: true }), withDatabase);
    expect(streamed.headers.get('x-agent-rag-archives')).toBeNull();
    await streamed.text();
  });

  it('are absent when there is no database: the completion is served as ever', async () => {
    const gateway = await gatewayWithArchives(undefined);
    await mocks.openai.script([{ kind: 'reply', content: 'Hi' }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-rag-archives')).toBeNull();
    expect(((await response.json()) as { agent: object }).agent).not.toHaveProperty('rag_archives');
  });
});
