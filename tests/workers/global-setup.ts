/** Runs on Node before the workerd suites: nothing yet (the settings issue starts sqld here). */
export default function setup(): void {}
