/**
 * How the reliability suite counts and prints its figures. Each scenario fills
 * in its part of `ReliabilityFigures` from what it observed (never from what it
 * expected), the suite asserts on the same numbers, and `formatFigures` turns
 * them into the one line printed at the end of the run:
 *
 *   reliability: 100 streams, 0 lost, 0 crossed; tunnel 100 streams, 0 lost, 0 crossed; bridge killed 10×,
 *   30 clean errors, 0 hung, 10/10 served after restart; sqld killed 5× during writes: 63 landed,
 *   24 failed loudly, 0 half-written, 0 acknowledged lost; client disconnects: 45, 0 pending (mid-stream:
 *   upstream aborted 20/20, bridge cancelled 20/20; before the first byte: 0/5 reached the Worker under
 *   wrangler dev); secrets: 29 responses + 19 logs checked, 0 leaks
 *
 * A scenario that did not run is left out of the line rather than printed as zeros.
 *
 * Each concern has its own test file (reliability-*.test.ts, each with its own
 * stack); each records its figures with `recordFigures` when it ends, and the
 * file that completes the set prints the line, once per run. Run one file alone
 * and no line prints (its assertions still say what went wrong).
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/sqld.ts';
import { safeParseJson } from '../../protocol/validate.ts';

/** One test file each; the line prints once every one of them has reported in the same run. */
export const RELIABILITY_CONCERNS = ['streams', 'disconnects', 'bridge-kills', 'sqld-kills', 'secrets', 'settings-burst', 'traversal', 'stuck-bridge', 'real-engine'] as const;
export type ReliabilityConcern = (typeof RELIABILITY_CONCERNS)[number];

export interface StreamFigures {
  streams: number;
  /** Ended without the whole answer: an error, no finish, or a short text. */
  lost: number;
  /** Received text that belongs to another request. */
  crossed: number;
}

export interface BridgeKillFigures {
  kills: number;
  /** Requests in flight at a kill that ended with an OpenAI-shaped error. */
  cleanErrors: number;
  /** In flight at a kill and ended any other way (a bare socket error, a silent end, a success that cannot be). */
  uncleanEnds: number;
  /** In flight at a kill and not settled within the bound. */
  hung: number;
  /** Requests for the killed bridge's model right after each restart that were served. */
  servedAfterRestart: number;
  /** Of those, refused 503 circuit_open: the crash's failures opened the model's breaker (a known bug). */
  breakerRefusedAfterRestart: number;
  /** Requests for another model of the restarted bridge that were served (the restart itself worked). */
  otherModelServedAfterRestart: number;
  /** Python workers still alive after their bridge was killed and the bound passed. */
  orphanWorkers: number;
}

export interface SqldKillFigures {
  kills: number;
  /** Writes answered 200 with the settings that were sent. */
  landed: number;
  /** Writes answered with an OpenAI-shaped 5xx. */
  failedLoudly: number;
  /** Writes answered any other way. */
  unclean: number;
  /** Reads (during the run and after it) that saw fields from different writes. */
  halfWritten: number;
  /** Acknowledged writes missing after a crash of sqld. */
  acknowledgedLost: number;
}

export interface DisconnectFigures {
  /** Online streams abandoned after some content, and how many of their upstream calls saw it. */
  midStreamOnline: number;
  midStreamOnlineAborted: number;
  /** Local streams abandoned after some content, and how many the bridge logged "cancelled by the client". */
  midStreamTunnel: number;
  bridgeCancelled: number;
  /** Requests abandoned before any response byte, and how many upstream calls saw that within a second. */
  beforeFirstToken: number;
  beforeFirstTokenForwarded: number;
  /** Upstream calls or bridge requests still running once the bound passed. */
  pending: number;
}

export interface SecretFigures {
  /** Response bodies and header sets inspected. */
  responsesChecked: number;
  /** Process logs inspected (Worker, bridges, sqld). */
  logsChecked: number;
  /** A secret in a response or log line that the caller did not send in that request. */
  leaks: number;
  /** A configured secret the caller itself sent, echoed back to it (or in wrangler's own access log). */
  reflected: number;
}

export interface SettingsBurstFigures {
  /** Concurrent settings requests (GET/PUT/PATCH/DELETE mixed) and completions that read the settings. */
  requests: number;
  /** Answered with their own success shape (a settings body, a completion). */
  answered: number;
  /** Not answered within the bound. */
  hung: number;
  /** Answered with a body that is not the OpenAI error shape or the settings/completion shape. */
  malformed: number;
  /** Whether the first request after the burst answered normally (1) or not (0). */
  healthyAfter: number;
}

export interface TraversalFigures {
  /** Hostile or not-offered local model names sent through the gateway and straight at the bridge. */
  namesTried: number;
  /** Of those, how many reached the engine's load(). */
  loaded: number;
}

export interface StuckBridgeFigures {
  /** Requests sent to a bridge that accepted them and then said nothing (or was frozen). */
  requests: number;
  /** The slowest time from the request to the first byte of its error, in milliseconds. */
  slowestFirstByteMs: number;
}

export interface RealEngineFigures {
  /** Concurrent streams of two different trained answers on the real mlx-lm. */
  streams: number;
  lost: number;
  crossed: number;
  /** Python workers SIGKILLed at a stream's first token. */
  workerKills: number;
  /** Bridges SIGKILLed at a stream's first token. */
  bridgeKills: number;
  /** Killed streams that ended with an OpenAI-shaped error. */
  cleanErrors: number;
  /** Killed streams that ended any other way (a clean end, a bare socket error, a hang). */
  uncleanEnds: number;
  /** Whole answers right after each kill (the worker or the bridge restarted). */
  servedAfterKill: number;
  orphanWorkers: number;
}

export interface ReliabilityFigures {
  gateway?: StreamFigures;
  tunnel?: StreamFigures;
  bridgeKills?: BridgeKillFigures;
  sqldKills?: SqldKillFigures;
  disconnects?: DisconnectFigures;
  secrets?: SecretFigures;
  settingsBurst?: SettingsBurstFigures;
  traversal?: TraversalFigures;
  stuckBridge?: StuckBridgeFigures;
  realEngine?: RealEngineFigures;
}

/** The one-line summary. */
export function formatFigures(figures: ReliabilityFigures): string {
  const parts: string[] = [];
  const { gateway, tunnel, bridgeKills, sqldKills, disconnects, secrets, settingsBurst, traversal, stuckBridge, realEngine } = figures;
  if (gateway) parts.push(`${gateway.streams} streams, ${gateway.lost} lost, ${gateway.crossed} crossed`);
  if (tunnel) parts.push(`tunnel ${tunnel.streams} streams, ${tunnel.lost} lost, ${tunnel.crossed} crossed`);
  if (bridgeKills) {
    const unclean = bridgeKills.uncleanEnds > 0 ? `, ${bridgeKills.uncleanEnds} unclean` : '';
    const orphans = bridgeKills.orphanWorkers > 0 ? `, ${bridgeKills.orphanWorkers} orphaned Python workers` : '';
    const refused = bridgeKills.breakerRefusedAfterRestart > 0 ? ` (${bridgeKills.breakerRefusedAfterRestart} refused by an open breaker; other model ${bridgeKills.otherModelServedAfterRestart}/${bridgeKills.kills})` : '';
    parts.push(
      `bridge killed ${bridgeKills.kills}×, ${bridgeKills.cleanErrors} clean errors${unclean}, ${bridgeKills.hung} hung, ` +
        `${bridgeKills.servedAfterRestart}/${bridgeKills.kills} served after restart${refused}${orphans}`,
    );
  }
  if (sqldKills) {
    const unclean = sqldKills.unclean > 0 ? `, ${sqldKills.unclean} unclean` : '';
    parts.push(
      `sqld killed ${sqldKills.kills}× during writes: ${sqldKills.landed} landed, ${sqldKills.failedLoudly} failed loudly${unclean}, ` +
        `${sqldKills.halfWritten} half-written, ${sqldKills.acknowledgedLost} acknowledged lost`,
    );
  }
  if (disconnects) {
    const total = disconnects.midStreamOnline + disconnects.midStreamTunnel + disconnects.beforeFirstToken;
    parts.push(
      `client disconnects: ${total}, ${disconnects.pending} pending (mid-stream: upstream aborted ${disconnects.midStreamOnlineAborted}/${disconnects.midStreamOnline}, ` +
        `bridge cancelled ${disconnects.bridgeCancelled}/${disconnects.midStreamTunnel}; before the first byte: ` +
        `${disconnects.beforeFirstTokenForwarded}/${disconnects.beforeFirstToken} reached the Worker under wrangler dev)`,
    );
  }
  if (secrets) {
    const reflected = secrets.reflected > 0 ? ` (${secrets.reflected} reflected back to the caller that sent it)` : '';
    parts.push(`secrets: ${secrets.responsesChecked} responses + ${secrets.logsChecked} logs checked, ${secrets.leaks} leaks${reflected}`);
  }
  if (settingsBurst) {
    const malformed = settingsBurst.malformed > 0 ? `, ${settingsBurst.malformed} malformed` : '';
    parts.push(`settings burst: ${settingsBurst.requests}, ${settingsBurst.answered} answered, ${settingsBurst.hung} hung${malformed}, next request ${settingsBurst.healthyAfter === 1 ? 'answered' : 'FAILED'}`);
  }
  if (traversal) parts.push(`traversal names tried: ${traversal.namesTried}, ${traversal.loaded} loaded`);
  if (stuckBridge) parts.push(`stuck bridge: ${stuckBridge.requests} requests, error's first byte ≤ ${stuckBridge.slowestFirstByteMs} ms`);
  if (realEngine) {
    const unclean = realEngine.uncleanEnds > 0 ? `, ${realEngine.uncleanEnds} unclean` : '';
    const orphans = realEngine.orphanWorkers > 0 ? `, ${realEngine.orphanWorkers} orphaned workers` : '';
    parts.push(
      `real mlx-lm: ${realEngine.streams} streams, ${realEngine.lost} lost, ${realEngine.crossed} crossed; worker killed ${realEngine.workerKills}×, ` +
        `bridge killed ${realEngine.bridgeKills}× mid-answer: ${realEngine.cleanErrors} clean errors${unclean}, ` +
        `${realEngine.servedAfterKill}/${realEngine.workerKills + realEngine.bridgeKills} served after${orphans}`,
    );
  }
  return `reliability: ${parts.length > 0 ? parts.join('; ') : 'no scenario ran'}`;
}

/**
 * Prints the line (stderr, so vitest shows it whatever the reporter) and appends
 * it with the figures as JSON to `.tmp/reliability.jsonl`, so runs can be compared.
 */
export function reportFigures(figures: ReliabilityFigures): string {
  const line = formatFigures(figures);
  process.stderr.write(`\n${line}\n\n`);
  try {
    const folder = join(REPO_ROOT, '.tmp');
    mkdirSync(folder, { recursive: true });
    appendFileSync(join(folder, 'reliability.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), line, figures })}\n`);
  } catch {
    // The printed line is the report; the file is a convenience.
  }
  return line;
}

const RUNS_FOLDER = join(REPO_ROOT, '.tmp', 'reliability-runs');
const STALE_RUN_MS = 24 * 60 * 60 * 1000;

/**
 * What identifies one vitest run across its test files: the main process. Test
 * files run in forked children of it (`process.send` is their IPC channel), or,
 * with worker threads, inside it.
 */
function runId(): number {
  return typeof process.send === 'function' ? process.ppid : process.pid;
}

interface RunRecord {
  concerns: string[];
  figures: ReliabilityFigures;
}

function readRun(file: string): RunRecord {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { concerns: [], figures: {} };
  }
  // Our own scratch file: written by this module, so its shape is ours once it parses.
  const parsed = safeParseJson(text);
  return parsed.ok ? (parsed.value as RunRecord) : { concerns: [], figures: {} };
}

/** Files of runs that ended without every concern (one file run alone, an interrupted run). */
function dropStaleRuns(): void {
  for (const name of readdirSync(RUNS_FOLDER)) {
    const file = join(RUNS_FOLDER, name);
    if (Date.now() - statSync(file).mtimeMs > STALE_RUN_MS) rmSync(file, { force: true });
  }
}

/**
 * Adds one concern's figures to this run's record; once every concern has
 * reported, prints the line (see `reportFigures`) and returns it.
 */
export function recordFigures(concern: ReliabilityConcern, figures: ReliabilityFigures): string | undefined {
  mkdirSync(RUNS_FOLDER, { recursive: true });
  dropStaleRuns();
  const file = join(RUNS_FOLDER, `${runId()}.json`);
  const run = readRun(file);
  const merged: RunRecord = { concerns: [...new Set([...run.concerns, concern])], figures: { ...run.figures, ...figures } };
  if (!RELIABILITY_CONCERNS.every((name) => merged.concerns.includes(name))) {
    writeFileSync(file, JSON.stringify(merged));
    return undefined;
  }
  rmSync(file, { force: true });
  return reportFigures(merged.figures);
}

/** Settles with the promise's outcome, or `'hung'` when it has not settled within `ms`. */
export async function within<T>(work: Promise<T>, ms: number): Promise<{ settled: true; value: T } | { settled: true; error: unknown } | { settled: false }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<{ settled: false }>((resolve) => (timer = setTimeout(() => resolve({ settled: false }), ms)));
  try {
    return await Promise.race([work.then((value) => ({ settled: true as const, value }), (error: unknown) => ({ settled: true as const, error })), bound]);
  } finally {
    clearTimeout(timer);
  }
}
