/**
 * Keeps one server process running for `npm start` (sqld): when it exits
 * while nobody asked it to, it is started again the same way (same data, same
 * port) after a delay that doubles with each quick failure in a row, and given
 * up for good after too many. It knows nothing of how the server starts or what
 * else runs beside it (the Worker), so the rest of the stack carries on
 * whichever way it is served.
 */
import type { RuntimeDeps } from '../protocol/runtime-deps.ts';

export interface RestartPolicy {
  /** The delay before the first restart in a row; doubled for each next one. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A server that ran at least this long was healthy: its exit starts a new row of restarts. */
  stableAfterMs: number;
  /** This many restarts in a row that did not bring a stable server, and the supervisor gives up. */
  maxRestarts: number;
}

/** sqld comes back within a second of a crash; one that keeps crashing is given up after ~8 s of tries. */
export const SQLD_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 8_000, stableAfterMs: 30_000, maxRestarts: 5 };

/** What the supervisor needs of a started server. */
export interface SupervisedServer {
  /** Resolves with the exit code, or the signal's name, once the process is gone. */
  exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

export interface RestartSupervisorOptions<S extends SupervisedServer> {
  /** Names the server in what is logged (`sqld`). */
  name: string;
  /** Starts the server and resolves once it answers; rejects when it cannot start. */
  start: () => Promise<S>;
  /** One line per exit, restart and give-up (`npm start` prints them on stderr). */
  log: (line: string) => void;
  /** Aborted when the whole stack is stopping: from then on nothing is restarted. */
  shutdown: AbortSignal;
  /** Called with each server started again. */
  onRestarted?: (server: S) => void;
  /** Called once, when the supervisor gives up; no server runs from then on. */
  onGaveUp?: (summary: string) => void;
  deps: Pick<RuntimeDeps, 'now' | 'sleep'>;
  policy?: RestartPolicy;
}

export interface RestartSupervisor<S extends SupervisedServer> {
  /**
   * The first start. It is not retried: a taken port or a missing binary is
   * for the user to fix, and `npm start` says how.
   */
  readonly started: Promise<S>;
  /** The server running now, if any. */
  current(): S | undefined;
  /** Stops the running server (and one still starting); resolves once it is gone. Abort `shutdown` first. */
  stop(): Promise<void>;
}

/** The delay before restart number `restart` in a row (0 = the first). */
export function restartDelayMs(restart: number, policy: RestartPolicy): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(restart, 30));
}

function describeExit(exit: number | string | null): string {
  return typeof exit === 'string' ? `signal ${exit}` : `code ${exit ?? 'unknown'}`;
}

/** Starts the server and keeps it running until `shutdown` aborts (see the module comment). */
export function superviseRestarts<S extends SupervisedServer>(options: RestartSupervisorOptions<S>): RestartSupervisor<S> {
  const { name, deps, shutdown, log } = options;
  const policy = options.policy ?? SQLD_RESTART_POLICY;
  let current: S | undefined;
  // The start under way, so that stop() can wait for it and then stop what it started.
  let starting: Promise<S> | undefined;
  // A recovery under way (waiting, or starting the server again).
  let recovering: Promise<void> = Promise.resolve();
  // Restarts in a row since the server last ran stably.
  let restarts = 0;

  const begin = (): Promise<S> => {
    const attempt = options.start();
    starting = attempt;
    void attempt.then(
      () => (starting = undefined),
      () => (starting = undefined),
    );
    return attempt;
  };

  const watch = (server: S, startedAt: number): void => {
    current = server;
    void server.exited.then((exit) => {
      if (current === server) current = undefined;
      if (shutdown.aborted) return;
      if (deps.now() - startedAt >= policy.stableAfterMs) restarts = 0;
      recovering = recover(`${name} exited (${describeExit(exit)})`);
    });
  };

  /** Restarts after `reason`, with backoff, until a start succeeds, the stack stops, or too many failed. */
  const recover = async (reason: string): Promise<void> => {
    let why = reason;
    while (!shutdown.aborted) {
      if (restarts >= policy.maxRestarts) {
        const summary = `${why}; it was restarted ${restarts} times in a row and never ran ${policy.stableAfterMs / 1000} s, so it is not restarted again`;
        log(summary);
        options.onGaveUp?.(summary);
        return;
      }
      const delayMs = restartDelayMs(restarts, policy);
      restarts += 1;
      log(`${why}; restarting in ${delayMs} ms`);
      try {
        await deps.sleep(delayMs, shutdown);
      } catch {
        return;
      }
      const startedAt = deps.now();
      try {
        const server = await begin();
        if (shutdown.aborted) {
          await server.stop();
          return;
        }
        watch(server, startedAt);
        options.onRestarted?.(server);
        return;
      } catch (error) {
        why = `${name} did not start again (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
      }
    }
  };

  const started = begin().then((server) => {
    watch(server, deps.now());
    return server;
  });

  return {
    started,
    current: () => current,
    async stop() {
      await starting?.catch(() => undefined);
      await recovering;
      await current?.stop();
    },
  };
}
