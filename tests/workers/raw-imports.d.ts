// Recorded fixtures imported as text (Vite's `?raw`), for comparing what the gateway forwards.
declare module '*.sse?raw' {
  const text: string;
  export default text;
}
