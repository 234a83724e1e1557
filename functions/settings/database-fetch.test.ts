import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { databaseFetch } from './database-fetch.ts';
import { toDatabaseError } from './database-error.ts';

let server: Server | undefined;

/** A loopback database that answers 429 to the first `busyAnswers` requests, then 200; it records each body. */
async function busyDatabase(busyAnswers: number): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      bodies.push(body);
      response.writeHead(bodies.length <= busyAnswers ? 429 : 200, { 'content-type': 'text/plain' }).end(bodies.length <= busyAnswers ? 'busy' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/pipeline`, bodies };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const noWait = { ...defaultRuntimeDeps, random: () => 0 };

describe('the settings database fetch', () => {
  it('sends a request the database refused with 429 again, body and all, until it is taken', async () => {
    const database = await busyDatabase(3);
    const response = await databaseFetch(5_000, noWait)(new Request(database.url, { method: 'POST', body: '{"requests":[1]}' }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect(database.bodies).toEqual(Array(4).fill('{"requests":[1]}'));
  });

  it('answers the last 429 when the deadline passes while the database stays busy, which reads as database_busy', async () => {
    const database = await busyDatabase(Number.POSITIVE_INFINITY);
    // The deadline passes during the first backoff after a 429.
    let passDeadline = (): void => {};
    const deadlineDuringBackoff = {
      random: () => 0.5,
      sleep: (_ms: number, signal?: AbortSignal) => {
        if (!signal) return new Promise<void>((resolve) => (passDeadline = resolve)); // the deadline's own timer
        passDeadline();
        return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      },
    };
    const response = await databaseFetch(10, deadlineDuringBackoff)(new Request(database.url, { method: 'POST', body: 'x' }));
    expect(response.status).toBe(429);
    expect(database.bodies).toEqual(['x']);
    const error = toDatabaseError(Object.assign(new Error('SERVER_ERROR: Server returned HTTP status 429'), { cause: { status: 429 } }));
    expect(error).toMatchObject({ status: 503, code: 'database_busy', retryable: true });
  });
});
