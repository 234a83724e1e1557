/**
 * Global setup of the workerd suites (runs on Node): a real sqld on a free
 * loopback port with a throwaway data dir, drizzle/'s migrations applied, its
 * URL handed to the tests as `inject('sqldUrl')`. Stopped and deleted afterwards.
 */
import type { TestProject } from 'vitest/node';
import { startTestSqld } from '../helpers/sqld.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the migrated test sqld. */
    sqldUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sqld = await startTestSqld({ migrate: true });
  project.provide('sqldUrl', sqld.url);
  return () => sqld.stop();
}
