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
}

export const MAJORS: readonly SdkMajor[] = [
  {
    name: "openai 5",
    minNode: 20,
    load: async () => (await import("openai-v5")).default as unknown as ClientClass,
    loadAzure: async () => (await import("openai-v5")).AzureOpenAI as unknown as AzureClass,
  },
  {
    name: "openai 6",
    minNode: 20,
    load: async () => (await import("openai")).default,
    loadAzure: async () => (await import("openai")).AzureOpenAI,
  },
  {
    name: "openai 7",
    minNode: 22,
    load: async () => (await import("openai-v7")).default as unknown as ClientClass,
    loadAzure: async () => (await import("openai-v7")).AzureOpenAI as unknown as AzureClass,
  },
];
