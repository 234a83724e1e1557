/**
 * Preloaded into Portkey's gateway (`node --import bench/portkey/preload.ts
 * …/start-server.js`) to make it runnable in the bench, changing nothing it
 * measures:
 *
 * 1. Loopback only. Its start script calls `serve({port})` with no hostname,
 *    which would listen on every interface; a `listen(port)` without a host
 *    gets 127.0.0.1.
 * 2. Streaming works. With @hono/node-server newer than 1.14.2 (npm installs
 *    1.19 here), every streaming chat completion fails with `TypeError:
 *    immutable`: node-server's lightweight Response keeps the upstream fetch
 *    response's immutable Headers when Portkey does `new Response(body,
 *    upstreamResponse)`, and Portkey then appends its `x-portkey-*` headers
 *    (Portkey-AI/gateway issues #1389 and #1550). Like Portkey's own fix
 *    (PR #1551), such a Response gets a copy of the headers instead.
 */
import { Server } from 'node:net';

const listen = Server.prototype.listen;
Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]): Server {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function')) {
    args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  }
  return Reflect.apply(listen, this, args) as Server;
};

const NativeResponse = globalThis.Response;

/** Wraps the Response class node-server installs so a native Response as `init` hands over a mutable copy of its headers. */
function withCopiedHeaders(Lightweight: typeof Response): typeof Response {
  return class ResponseWithCopiedHeaders extends Lightweight {
    constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit | Response) {
      // Only a native Response (from fetch) carries immutable headers; node-server's own are fine.
      const copied =
        init instanceof NativeResponse && Object.getPrototypeOf(init) === NativeResponse.prototype
          ? { status: init.status, statusText: init.statusText, headers: new Headers(init.headers) }
          : init;
      super(body, copied);
    }
  };
}

// node-server installs its Response with Object.defineProperty(global, 'Response', {value}).
const defineProperty = Object.defineProperty;
Object.defineProperty = function defineWithCopiedHeaders<T>(target: T, key: PropertyKey, descriptor: PropertyDescriptor & ThisType<unknown>): T {
  if (target === globalThis && key === 'Response' && typeof descriptor.value === 'function' && descriptor.value !== NativeResponse) {
    return defineProperty(target, key, { ...descriptor, value: withCopiedHeaders(descriptor.value as typeof Response) });
  }
  return defineProperty(target, key, descriptor);
};
