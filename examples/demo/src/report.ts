// Turns what each destination received back into the metadata model's fields, compares it with what
// each call resolved, and renders one block per framework.
import type { Metadata } from "@tagalong/core";
import type { ModelCall, PromptLayerLog } from "@tagalong/testing";
import type { Route, Via } from "./services";
import { textTable } from "./text-table";

/** One example run over one route: what the calls resolved, and what arrived (when observable). */
export interface RouteRun {
  route: Route;
  /** The metadata each call of this run resolved, in call order. */
  resolved: Metadata[];
  /** The model calls the route's recorder received (undefined for a hosted service). */
  calls?: ModelCall[];
  error?: unknown;
}

export interface FrameworkRun {
  name: string;
  adapter: string;
  runs: RouteRun[];
  /** The PromptLayer logs of this framework's calls (undefined when PromptLayer is hosted). */
  logs?: PromptLayerLog[];
}

type Column = "you" | Via | "promptlayer";
const COLUMNS: Column[] = ["you", "portkey", "requesty", "promptlayer"];
const TITLES: Record<Column, string> = {
  you: "your metadata",
  portkey: "Portkey",
  requesty: "Requesty",
  promptlayer: "PromptLayer",
};

/** A call's fields by name (`user`, `prompt`, `extra.plan`, ...), every value as a string. */
type Fields = Map<string, string>;

/** Fields from the model's named fields and the custom (`extra`) keys; empty values are left out. */
function fields(named: Record<string, unknown>, extra: Record<string, unknown> = {}): Fields {
  const f: Fields = new Map();
  const put = (key: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== "") f.set(key, String(value));
  };
  for (const [k, v] of Object.entries(named)) put(k, v);
  for (const [k, v] of Object.entries(extra)) put(`extra.${k}`, v);
  return f;
}

const promptRef = (p: { name?: unknown; version?: unknown; label?: unknown }) =>
  `${p.name}${p.version !== undefined ? ` v${p.version}` : p.label !== undefined ? ` @${p.label}` : ""}`;
const joined = (tags: unknown) => (Array.isArray(tags) && tags.length ? tags.join(",") : undefined);

/** What a call resolved, in the form `column` can carry (Portkey and Requesty keep only a prompt's name). */
function expected(m: Metadata, column: Column): Fields {
  const fullPrompt = column === "you" || column === "promptlayer";
  return fields(
    {
      user: m.user,
      session: m.session,
      // Portkey reads the trace from x-portkey-trace-id, which the gateway keeps for itself.
      trace: column === "portkey" ? undefined : m.trace,
      environment: m.environment,
      organization: m.organization,
      tags: joined(m.tags),
      prompt: m.prompt && (fullPrompt ? promptRef(m.prompt) : m.prompt.name),
    },
    m.extra,
  );
}

function fromPortkey(md: Record<string, string>): Fields {
  const { _user, session_id, _environment, _organisation, tags, _prompt, ...extra } = md;
  return fields(
    {
      user: _user,
      session: session_id,
      environment: _environment,
      organization: _organisation,
      tags,
      prompt: _prompt,
    },
    extra,
  );
}

function fromRequesty(r: any): Fields {
  const { session_id, environment, organization, prompt_title, ...extra } = r.extra ?? {};
  return fields(
    {
      user: r.user_id,
      session: session_id,
      trace: r.trace_id,
      environment,
      organization,
      tags: joined(r.tags),
      prompt: prompt_title,
    },
    extra,
  );
}

function fromPromptLayer(log: PromptLayerLog): Fields {
  const { user_id, session_id, trace_id, environment, organization, ...extra } = log.metadata;
  return fields(
    {
      user: user_id,
      session: session_id,
      trace: trace_id,
      environment,
      organization,
      tags: joined(log.body?.tags),
      prompt: log.prompt && promptRef({ ...log.prompt, name: log.prompt.prompt_name }),
    },
    extra,
  );
}

/** Every value of `key` across `fields`, distinct, in order. */
const valuesOf = (fields: Fields[], key: string) => [
  ...new Set(fields.map((f) => f.get(key)).filter((v) => v !== undefined)),
];
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((v) => b.includes(v));

const MAX_VALUES = 2;
function cell(key: string, values: string[]): string[] {
  if (values.length === 0) return ["—"];
  // Trace ids (LangChain's run ids are UUIDv7: time first) differ at the end.
  const shown = key === "trace" ? values.map((v) => (v.length > 14 ? `…${v.slice(-12)}` : v)) : values;
  if (shown.length <= MAX_VALUES) return shown;
  return [...shown.slice(0, MAX_VALUES), `(+${shown.length - MAX_VALUES} more)`];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

export interface Block {
  text: string;
  problems: string[];
}

/** One framework's block: a row per field, a column per destination, and what went wrong. */
export function frameworkBlock(fw: FrameworkRun): Block {
  const problems: string[] = [];
  const expectedBy = new Map<Column, Fields[]>();
  const seenBy = new Map<Column, Fields[]>();
  const callsRow: Record<Column, string[]> = { you: [], portkey: [], requesty: [], promptlayer: [] };
  let modelCalls = 0;

  const allResolved = fw.runs.flatMap((r) => r.resolved);
  expectedBy.set(
    "you",
    allResolved.map((m) => expected(m, "you")),
  );
  seenBy.set("you", expectedBy.get("you")!);
  callsRow.you = [`${allResolved.length} calls`];

  for (const run of fw.runs) {
    const { via } = run.route;
    if (run.error !== undefined) problems.push(`${TITLES[via]} route: ${message(run.error)}`);
    expectedBy.set(
      via,
      run.resolved.map((m) => expected(m, via)),
    );
    if (run.calls === undefined) {
      callsRow[via] = ["hosted"];
      modelCalls += run.resolved.length;
      continue;
    }
    modelCalls += run.calls.length;
    const plain = run.calls.filter((c) => !c.stream).length;
    const streamed = run.calls.length - plain;
    callsRow[via] = [`${plain} plain, ${streamed} streamed`];
    if (plain === 0 || streamed === 0) problems.push(`${TITLES[via]}: expected plain and streamed calls`);
    const seen: Fields[] = [];
    for (const call of run.calls) {
      if (call.status !== 200) problems.push(`${TITLES[via]}: call #${call.seq} answered ${call.status}`);
      const view = via === "portkey" ? call.portkey.metadata : call.requesty;
      if (view === undefined || view === null)
        problems.push(`${TITLES[via]}: call #${call.seq} carried no metadata`);
      else seen.push(via === "portkey" ? fromPortkey(view) : fromRequesty(view));
    }
    seenBy.set(via, seen);
  }

  expectedBy.set(
    "promptlayer",
    allResolved.map((m) => expected(m, "promptlayer")),
  );
  if (fw.logs === undefined) {
    callsRow.promptlayer = ["hosted"];
  } else {
    seenBy.set("promptlayer", fw.logs.map(fromPromptLayer));
    const ids = fw.logs.map((l) => l.id);
    callsRow.promptlayer = [ids.length ? `logs ${ids.join(", ")}` : "no logs"];
    if (fw.logs.length !== modelCalls) {
      problems.push(`PromptLayer: ${fw.logs.length} logs for ${modelCalls} model calls`);
    }
  }

  // Named fields come first in the order `fields` writes them, then custom keys as first seen.
  const keys = [...new Set(allResolved.flatMap((m) => [...expected(m, "you").keys()]))];
  keys.sort((a, b) => Number(a.startsWith("extra.")) - Number(b.startsWith("extra.")));
  const rows: string[][][] = [[["field"], ...COLUMNS.map((c) => [TITLES[c]])]];
  for (const key of keys) {
    const row: string[][] = [[key.replace(/^extra\./, "")]];
    for (const column of COLUMNS) {
      const seen = seenBy.get(column);
      if (seen === undefined || seen.length === 0) {
        // Hosted (nothing to read), or nothing arrived: a problem reported above already.
        row.push([seen ? "—" : ""]);
        continue;
      }
      const want = valuesOf(expectedBy.get(column) ?? [], key);
      const got = valuesOf(seen, key);
      if (!sameSet(want, got)) {
        problems.push(
          `${TITLES[column]}: ${key} arrived as ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
        );
        row.push(["✗", ...cell(key, got)]);
      } else {
        row.push(
          want.length === 0 && column === "portkey" && key === "trace" ? ["(gateway)"] : cell(key, got),
        );
      }
    }
    rows.push(row);
  }
  rows.push([["calls"], ...COLUMNS.map((c) => callsRow[c])]);

  const title = `${problems.length ? "✗" : "✓"} ${fw.name} (${fw.adapter})`;
  return { text: `${title}\n${textTable(rows, { indent: "  " })}`, problems };
}
