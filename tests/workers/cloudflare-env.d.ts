// What `cloudflare:workers` exposes to the workerd test suites.
type GatewayEnv = import('../../functions/config.ts').Env;
declare namespace Cloudflare {
  interface Env extends GatewayEnv {}
  interface Exports {
    default: Fetcher;
  }
}
