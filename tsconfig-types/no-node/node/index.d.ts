// Deliberately empty. tsconfig.worker.json resolves `/// <reference types="node" />` here, so a
// dependency's declaration files (@libsql/core's) cannot bring Node's globals (`process`, `Buffer`)
// into the Worker's program, where the runtime (without nodejs_compat) does not have them.
export {};
