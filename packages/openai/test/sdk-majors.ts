// The openai majors every suite runs over. Each is imported lazily, so a major that needs a newer Node
// is never loaded where it is skipped (openai 7 needs Node 22: run the suites under Node 22 as well).
import type OpenAI from "openai";
import type { AzureOpenAI } from "openai";

export const nodeMajor = Number(process.versions.node.split(".", 1)[0]);

/** The client classes of one major, typed as the installed `openai` (6): the surface the suites use is shared. */
export type ClientClass = typeof OpenAI;
export type AzureClass = typeof AzureOpenAI;

export interface SdkMajor {
  readonly name: string;
  /** The lowest Node major this openai major runs on. */
  readonly minNode: number;
  load(): Promise<ClientClass>;
  loadAzure(): Promise<AzureClass>;
  /** The major's own `Stream` class (what its parser turns a streamed body into). */
  loadStream(): Promise<StreamClass>;
  /** The major's `toFile` (what a file upload's body is made with). */
  loadToFile(): Promise<ToFile>;
}

export type ToFile = typeof import("openai").toFile;

/** The static side of the SDK's `Stream` that a test may replace. */
export interface StreamClass {
  fromSSEResponse(this: unknown, ...args: unknown[]): { [Symbol.asyncIterator](): AsyncIterator<unknown> };
}

export const MAJORS: readonly SdkMajor[] = [
  {
    name: "openai 5",
    minNode: 20,
    load: async () => (await import("openai-v5")).default as unknown as ClientClass,
    loadStream: async () => (await import("openai-v5/core/streaming")).Stream as unknown as StreamClass,
    loadAzure: async () => (await import("openai-v5")).AzureOpenAI as unknown as AzureClass,
    loadToFile: async () => (await import("openai-v5")).toFile as unknown as ToFile,
  },
  {
    name: "openai 6",
    minNode: 20,
    load: async () => (await import("openai")).default,
    loadStream: async () => (await import("openai/core/streaming")).Stream as unknown as StreamClass,
    loadAzure: async () => (await import("openai")).AzureOpenAI,
    loadToFile: async () => (await import("openai")).toFile as unknown as ToFile,
  },
  {
    name: "openai 7",
    minNode: 22,
    load: async () => (await import("openai-v7")).default as unknown as ClientClass,
    loadStream: async () => (await import("openai-v7/core/streaming")).Stream as unknown as StreamClass,
    loadAzure: async () => (await import("openai-v7")).AzureOpenAI as unknown as AzureClass,
    loadToFile: async () => (await import("openai-v7")).toFile as unknown as ToFile,
  },
];
