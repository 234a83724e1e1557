/** Runs on Node before the workerd suites: starts a real sqld (not yet). */
export default function setup(): void {}
