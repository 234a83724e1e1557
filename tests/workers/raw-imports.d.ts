/** Vite's `?raw` imports (a file's text), which the workerd suites use for recorded transcripts. */
declare module '*?raw' {
  const text: string;
  export default text;
}
