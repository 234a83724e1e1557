/**
 * N streams at once through one endpoint, each asking for content tagged with
 * its own key, and each checked to the last piece: a stream is *lost* when it
 * failed, ended early or missed pieces, and *crossed* when it carried a piece
 * tagged with another stream's key.
 */
import type { Agent } from 'node:http';
import { postStream } from '../lib/http-client.ts';

export interface ConcurrencyResult {
  streams: number;
  lost: number;
  crossed: number;
  /** From the first request sent to the last stream ended. */
  wallMs: number;
  /** Content pieces received across all streams. */
  pieces: number;
  /** The first few problems, for the report. */
  problems: string[];
}

export interface ConcurrentStream {
  key: string;
  body: unknown;
  expectedPieces: string[];
}

/** Runs every stream at once and checks each. */
export async function runConcurrentStreams(
  url: string,
  headers: Record<string, string>,
  streams: ConcurrentStream[],
  agent: Agent,
): Promise<ConcurrencyResult> {
  const keys = new Set(streams.map((stream) => stream.key));
  const started = performance.now();
  const results = await Promise.all(
    streams.map((stream) =>
      postStream(url, stream.body, headers, agent).then(
        (result) => ({ stream, result, failure: undefined }),
        (error: unknown) => ({ stream, result: undefined, failure: String(error) }),
      ),
    ),
  );
  const wallMs = performance.now() - started;
  let lost = 0;
  let crossed = 0;
  let pieces = 0;
  const problems: string[] = [];
  const note = (problem: string): void => {
    if (problems.length < 5) problems.push(problem);
  };
  for (const { stream, result, failure } of results) {
    if (!result) {
      lost += 1;
      note(`${stream.key}: ${failure ?? 'failed'}`);
      continue;
    }
    const received = result.text.split(/(?<= )/).filter((piece) => piece !== '');
    pieces += received.length;
    const foreign = received.some((piece) => {
      const key = piece.slice(0, piece.lastIndexOf('.'));
      return key !== stream.key && keys.has(key);
    });
    if (foreign) {
      crossed += 1;
      note(`${stream.key}: carried another stream's content`);
    }
    const expected = stream.expectedPieces.join('');
    if (result.status !== 200 || !result.done || result.error !== undefined || result.text !== expected) {
      lost += 1;
      note(`${stream.key}: status ${result.status}, done ${result.done}, ${received.length}/${stream.expectedPieces.length} pieces${result.error ? `, error ${result.error.slice(0, 200)}` : ''}`);
    }
  }
  return { streams: streams.length, lost, crossed, wallMs, pieces, problems };
}
