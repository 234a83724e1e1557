/**
 * Turns whatever the libSQL client or drizzle threw into a GatewayError. The
 * original is kept only as `cause`: its message can carry the query's
 * parameters (user data) and the client's URL, so none of it reaches a response.
 */
import { GatewayError } from '../../protocol/gateway-error.ts';

interface ErrorFacts {
  names: string[];
  codes: string[];
  messages: string[];
  statuses: number[];
}

// Drizzle wraps the libSQL error, which wraps the Hrana one, which wraps the
// fetch failure: look at the whole chain, not the top.
function collectFacts(error: unknown): ErrorFacts {
  const facts: ErrorFacts = { names: [], codes: [], messages: [], statuses: [] };
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const record = current as { name?: unknown; code?: unknown; message?: unknown; status?: unknown; cause?: unknown };
    if (typeof record.name === 'string') facts.names.push(record.name);
    if (typeof record.code === 'string') facts.codes.push(record.code);
    if (typeof record.message === 'string') facts.messages.push(record.message);
    if (typeof record.status === 'number') facts.statuses.push(record.status);
    current = record.cause;
  }
  return facts;
}

function unavailable(code: string, message: string, cause: unknown): GatewayError {
  return new GatewayError({
    status: 503,
    type: 'service_unavailable',
    code,
    message,
    retryable: true, // a 503: the response carries the default retry hint (functions/http/retry-hint.ts)
    cause,
  });
}

/** A database failure as a GatewayError that names the problem and leaks nothing. */
export function toDatabaseError(error: unknown): GatewayError {
  if (GatewayError.isInstance(error)) return error;
  const facts = collectFacts(error);
  if (facts.messages.some((message) => /no such table/i.test(message))) {
    return unavailable(
      'database_not_migrated',
      'The database has no tables yet: run `npm run db:migrate` against it',
      error,
    );
  }
  if (facts.statuses.some((status) => status === 401 || status === 403)) {
    return unavailable('database_unavailable', 'The database refused the credentials: check TURSO_AUTH_TOKEN', error);
  }
  if (facts.codes.some((code) => code.startsWith('SQLITE_CONSTRAINT'))) {
    // Validation runs before every write, so a constraint failure is our bug, not the caller's.
    return new GatewayError({ status: 500, type: 'server_error', message: 'The settings could not be stored', cause: error });
  }
  if (facts.statuses.includes(429) || facts.messages.some((message) => /HTTP status 429/.test(message))) {
    return unavailable('database_busy', 'The database is busy (too many requests at once); try again shortly', error);
  }
  if (facts.names.includes('TimeoutError')) {
    return unavailable('database_unavailable', 'The database did not answer in time; try again shortly', error);
  }
  return unavailable('database_unavailable', 'The database is unreachable; try again shortly', error);
}

/** The error for a Worker that has no database configured at all. */
export function databaseNotConfigured(): GatewayError {
  return new GatewayError({
    status: 503,
    type: 'service_unavailable',
    code: 'database_not_configured',
    message: 'Settings need a database: set TURSO_DATABASE_URL (and TURSO_AUTH_TOKEN for Turso)',
  });
}
