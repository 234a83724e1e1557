/** Runs on Node before the workerd suites: starts the loopback mock providers (not yet). */
export default function setup(): void {}
