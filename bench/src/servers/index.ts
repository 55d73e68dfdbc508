// Starts the server process and talks to it. Every server it runs listens on 127.0.0.1 only.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Op, Ops, Reply, Request } from "./protocol";

export type { ModelWire, PromptLayerWire } from "./protocol";
export type { SinkCounts } from "./vendor-sinks";

export interface Servers {
  call<K extends Op>(op: K, args: Ops[K]["args"]): Promise<Ops[K]["result"]>;
  close(): Promise<void>;
}

export async function startServers(): Promise<Servers> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./server-process.ts", import.meta.url)), {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  child.on("message", (reply: Reply) => {
    if (reply.id === 0) return ready();
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (!w) return;
    if (reply.ok) w.resolve(reply.result);
    else w.reject(new Error(`server process: ${reply.error}`));
  });
  child.on("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`server process exited (${code})`));
    waiting.clear();
  });
  await started;

  return {
    call(op, args) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args } satisfies Request);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.disconnect();
      }),
  };
}
