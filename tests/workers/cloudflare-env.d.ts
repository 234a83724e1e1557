// What `cloudflare:workers` exposes to the workerd test suites.
declare namespace Cloudflare {
  interface Env extends import('../../functions/config.ts').Env {}
  interface Exports {
    default: Fetcher;
  }
}
