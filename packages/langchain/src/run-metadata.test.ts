import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readRunLabels } from "./run-metadata";

describe("readRunLabels", () => {
  it("keeps the tagalong key apart, user keys as extra, thread keys as the session", () => {
    const labels = readRunLabels(
      {
        tagalong: { user: "u_1" },
        team: "search",
        attempt: 2,
        beta: false,
        thread_id: "t-1",
        nested: { a: 1 },
        list: ["a"],
        missing: undefined,
      },
      ["checkout"],
    );
    expect(labels).toEqual({
      explicit: { user: "u_1" },
      implied: { session: "t-1", extra: { team: "search", attempt: 2, beta: false }, tags: ["checkout"] },
    });
  });

  it("ignores LangChain's and LangGraph's own keys and tags", () => {
    const labels = readRunLabels(
      {
        ls_provider: "openai",
        ls_model_name: "gpt-4o-mini",
        ls_integration: "langchain_chat_model",
        langgraph_step: 1,
        langgraph_node: "agent",
        langgraph_checkpoint_ns: "agent:1",
        checkpoint_ns: "agent:1",
        checkpoint_id: "c-1",
        __pregel_task_id: "x",
        __pregel_resuming: false,
        versions: { "@langchain/core": "1.4.0" },
        run_attempt: 1,
      },
      [
        "seq:step:2",
        "graph:step:1",
        "map:key:a",
        "branch:default",
        "condition:1",
        "langsmith:hidden",
        "retry:attempt:2",
        "mine",
      ],
    );
    expect(labels).toEqual({ explicit: undefined, implied: { tags: ["mine"] } });
  });

  it("never takes a credential-named key, nor LangChain's timeoutMs, as a label", () => {
    const labels = readRunLabels(
      {
        api_key: "sk-1",
        openai_api_key: "sk-2",
        apiKey: "sk-3",
        access_token: "t",
        client_secret: "s",
        password: "p",
        Authorization: "Bearer x",
        "x-session-token": "t2",
        timeoutMs: 5000,
        team: "search",
        max_tokens_budget: 800,
        secret_santa: true,
      },
      [],
    );
    // Named like a credential at its end; a count of tokens or a word that only begins so is a label.
    expect(labels.implied).toEqual({ extra: { team: "search", max_tokens_budget: 800, secret_santa: true } });
  });

  it("a key mirroring the run config's configurable is LangChain's copy, not a label; the thread keys stay the session", () => {
    const labels = readRunLabels(
      { model: "gpt-4o-mini", tier: "gold", thread_id: "t-1", team: "search", region: "eu" },
      [],
      { model: "gpt-4o-mini", tier: "gold", thread_id: "t-1", region: "us" },
    );
    expect(labels.implied).toEqual({ session: "t-1", extra: { team: "search", region: "eu" } });
  });

  it("the first thread key wins the session", () => {
    expect(readRunLabels({ session_id: "s", thread_id: "t" }, []).implied).toEqual({ session: "s" });
  });
});

describe("the package's runtime", () => {
  it("imports nothing from @langchain/*, so it works with whichever copy the user has", () => {
    const dir = new URL(".", import.meta.url);
    const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !/\.test(-d)?\.ts$/.test(f));
    expect(sources.length).toBeGreaterThan(3);
    for (const file of sources) {
      const text = readFileSync(new URL(file, dir), "utf8");
      const runtimeImports = [...text.matchAll(/^import (?!type )[^;]*from "([^"]+)"/gm)].map((m) => m[1]);
      expect(
        runtimeImports.filter((s) => s?.startsWith("@langchain/")),
        file,
      ).toEqual([]);
    }
  });
});
