// What the examples talk to: loopback stand-ins (the real Portkey gateway in front of a recorder as the
// model, recorders in place of Requesty and PromptLayer) or, for each service whose key is in the
// environment, the hosted service.
import { createRecorder, type Recorder } from "@tagalong/testing";
import { gatewayRoute, type PortkeyGateway, startGateway } from "@tagalong/testing/portkey-gateway";

export type Via = "portkey" | "requesty";

/** Where an example's model calls go. */
export interface Route {
  via: Via;
  baseURL: string;
  apiKey: string;
  model: string;
  headers?: Record<string, string>;
  /** The loopback recorder that sees what arrived; undefined for a hosted service. */
  recorder?: Recorder;
  /** One line for the legend. */
  description: string;
}

export interface Services {
  routes: Route[];
  promptLayer: { apiKey: string; baseURL?: string; recorder?: Recorder; description: string };
  /** Ask the gateway to pass x-portkey-metadata upstream: only the local gateway, so the recorder sees it. */
  forwardMetadata: boolean;
  close(): Promise<void>;
}

export class ConfigError extends Error {}

const MODEL = "gpt-4o-mini";
const hostOf = (url: string) => new URL(url).host;

/** Refuses a half-configured environment before anything starts. */
export function checkConfig(env: NodeJS.ProcessEnv = process.env): void {
  if (env.PORTKEY_API_KEY && !env.OPENAI_API_KEY) {
    throw new ConfigError("PORTKEY_API_KEY is set: Portkey also needs OPENAI_API_KEY to call OpenAI with");
  }
}

export async function startServices(env: NodeJS.ProcessEnv = process.env): Promise<Services> {
  checkConfig(env);
  const model = env.DEMO_MODEL || MODEL;
  const started: Array<{ close(): Promise<void> }> = [];
  const close = async () => {
    await Promise.allSettled(started.map((s) => s.close()));
  };
  const recorder = async () => {
    const rec = await createRecorder();
    started.push(rec);
    return rec;
  };

  try {
    const routes: Route[] = [];
    if (env.PORTKEY_API_KEY) {
      if (!env.OPENAI_API_KEY) {
        throw new ConfigError(
          "PORTKEY_API_KEY is set: Portkey also needs OPENAI_API_KEY to call OpenAI with",
        );
      }
      const baseURL = env.PORTKEY_BASE_URL || "https://api.portkey.ai/v1";
      routes.push({
        via: "portkey",
        baseURL,
        apiKey: env.OPENAI_API_KEY,
        model,
        headers: { "x-portkey-api-key": env.PORTKEY_API_KEY, "x-portkey-provider": "openai" },
        description: `hosted Portkey (${hostOf(baseURL)}) in front of OpenAI: see its Logs, filter by _user`,
      });
    } else {
      const upstream = await recorder();
      const gateway: PortkeyGateway = await startGateway();
      started.push(gateway);
      routes.push({
        via: "portkey",
        baseURL: gateway.baseURL,
        apiKey: "sk-local",
        model,
        headers: gatewayRoute(upstream.openaiBaseURL),
        recorder: upstream,
        description: `x-portkey-metadata, as the model behind the real Portkey gateway ${gateway.version} (${hostOf(gateway.url)}) received it`,
      });
    }

    if (env.REQUESTY_API_KEY) {
      const baseURL = env.REQUESTY_BASE_URL || "https://router.requesty.ai/v1";
      routes.push({
        via: "requesty",
        baseURL,
        apiKey: env.REQUESTY_API_KEY,
        model: `openai/${model}`,
        description: `hosted Requesty (${hostOf(baseURL)}): see its request logs, filter by user`,
      });
    } else {
      const standIn = await recorder();
      routes.push({
        via: "requesty",
        baseURL: standIn.openaiBaseURL,
        apiKey: "rq-local",
        model: `openai/${model}`,
        recorder: standIn,
        description: `the \`requesty\` body field, at a stand-in for router.requesty.ai (${hostOf(standIn.url)})`,
      });
    }

    let promptLayer: Services["promptLayer"];
    if (env.PROMPTLAYER_API_KEY) {
      promptLayer = {
        apiKey: env.PROMPTLAYER_API_KEY,
        description: "hosted PromptLayer (api.promptlayer.com): see Requests, filter by metadata",
      };
    } else {
      const standIn = await recorder();
      promptLayer = {
        apiKey: "pl-local",
        baseURL: standIn.promptLayerURL,
        recorder: standIn,
        description: `log-request (and track-prompt for a prompt named by label), at a stand-in for api.promptlayer.com (${hostOf(standIn.url)})`,
      };
    }

    const local = routes.find((r) => r.via === "portkey")?.recorder !== undefined;
    return { routes, promptLayer, forwardMetadata: local, close };
  } catch (error) {
    await close();
    throw error;
  }
}
