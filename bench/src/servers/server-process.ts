// The benchmark's server process: loopback recorders (OpenAI- and PromptLayer-compatible) and the
// vendor sinks, driven over IPC. A process of its own so the servers' CPU and memory (the recorder
// keeps every request) are not counted against the client code being measured.
import { createRecorder, type FailureRule, type Recorder } from "@tagalong/testing";
import type { ModelWire, Op, Ops, PromptLayerWire, Reply, Request } from "./protocol";
import { startVendorSinks, type VendorSinks } from "./vendor-sinks";

const recorders = new Map<string, Recorder>();
const rules = new Map<number, FailureRule>();
let nextRule = 1;
let sinks: VendorSinks | undefined;

function recorder(name: string): Recorder {
  const rec = recorders.get(name);
  if (!rec) throw new Error(`no recorder named ${name}`);
  return rec;
}

function lastUserText(body: any): string {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const last = messages.at(-1)?.content;
  return typeof last === "string" ? last : "";
}

function modelWire(rec: Recorder): Record<string, ModelWire> {
  const out: Record<string, ModelWire> = {};
  for (const call of rec.calls()) {
    const w = (out[call.model ?? "?"] ??= {
      calls: 0,
      portkey: 0,
      requesty: 0,
      mislabelled: 0,
      violations: 0,
      sample: [],
    });
    w.calls++;
    if (call.portkey.metadata) w.portkey++;
    if (call.requesty !== undefined) w.requesty++;
    const user = call.portkey.metadata?._user;
    const named = /\bu_\d+\b/.exec(lastUserText(call.body))?.[0];
    if (user !== undefined && named !== undefined && user !== named) w.mislabelled++;
    w.violations += call.violations.length;
    for (const v of call.violations) if (w.sample.length < 3 && !w.sample.includes(v)) w.sample.push(v);
  }
  return out;
}

// Counted from the raw requests: the recorder's cross-request views are quadratic in the log count.
function promptLayerWire(rec: Recorder): PromptLayerWire {
  const out: PromptLayerWire = {
    logs: 0,
    trackMetadata: 0,
    trackPrompt: 0,
    requests: 0,
    duplicates: rec.promptLayer.duplicates(),
    violations: 0,
    sample: [],
  };
  for (const r of rec.requests) {
    if (r.kind !== "promptlayer") continue;
    out.requests++;
    if (r.path === "/log-request" && r.status === 201) out.logs++;
    if (r.path === "/rest/track-metadata" && r.status === 200) out.trackMetadata++;
    if (r.path === "/rest/track-prompt" && r.status === 200) out.trackPrompt++;
    out.violations += r.violations.length;
    for (const v of r.violations) if (out.sample.length < 3 && !out.sample.includes(v)) out.sample.push(v);
  }
  return out;
}

const done = (): undefined => undefined;

const handlers: { [K in Op]: (args: Ops[K]["args"]) => Promise<Ops[K]["result"]> | Ops[K]["result"] } = {
  async recorder({ name, options }) {
    let rec = recorders.get(name);
    if (!rec) {
      rec = await createRecorder(options);
      recorders.set(name, rec);
    }
    return { url: rec.url, openaiBaseURL: rec.openaiBaseURL };
  },
  refuse: ({ name }) => recorder(name).refuse().then(done),
  resume: ({ name }) => recorder(name).resume().then(done),
  reset: ({ name }) => recorder(name).reset().then(done),
  fail({ name, options }) {
    const id = nextRule++;
    rules.set(id, recorder(name).fail(options));
    return id;
  },
  clearRule({ id }) {
    rules.get(id)?.clear();
    rules.delete(id);
    return undefined;
  },
  async modelWire({ name, reset }) {
    const rec = recorder(name);
    const out = modelWire(rec);
    if (reset) await rec.reset();
    return out;
  },
  async promptLayerWire({ name, reset }) {
    const rec = recorder(name);
    const out = promptLayerWire(rec);
    if (reset) await rec.reset();
    return out;
  },
  async sinks() {
    sinks ??= await startVendorSinks();
    return { url: sinks.url };
  },
  sinkCounts({ reset }) {
    if (!sinks) throw new Error("vendor sinks not started");
    const counts = sinks.counts();
    if (reset) sinks.reset();
    return counts;
  },
  memory: () => ({ rssMB: process.memoryUsage().rss / 2 ** 20 }),
};

async function shutdown(): Promise<void> {
  await Promise.all([...recorders.values()].map((r) => r.close()));
  await sinks?.close();
  process.exit(0);
}

process.on("message", async (message: Request) => {
  let reply: Reply;
  try {
    const handler = handlers[message.op] as (args: unknown) => unknown;
    reply = { id: message.id, ok: true, result: await handler(message.args) };
  } catch (error) {
    reply = { id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  process.send?.(reply);
});
process.on("disconnect", () => void shutdown());
process.send?.({ id: 0, ok: true, result: "ready" } satisfies Reply);
