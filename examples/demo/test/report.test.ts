// The demo's verdict: what arrived is compared with what each call resolved, and gaps are problems.

import {
  createTagalong,
  type Destination,
  type Metadata,
  portkey,
  promptLayer,
  requesty,
} from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { run as supportDesk } from "@tagalong-examples/openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FrameworkRun, frameworkBlock } from "../src/report";
import type { Route } from "../src/services";

describe("frameworkBlock", () => {
  let rec: Recorder;
  beforeAll(async () => {
    rec = await createRecorder();
  });
  afterAll(() => rec?.close());
  beforeEach(() => rec.reset());

  /** Runs the support-desk example against the recorder as if it were `via`, with these destinations. */
  async function observe(via: Route["via"], destinations: Destination[]): Promise<FrameworkRun> {
    const resolved: Metadata[] = [];
    const probe: Destination = { name: "probe", start: (m) => void resolved.push(m) };
    const tagalong = createTagalong({ destinations: [...destinations, probe] });
    const route: Route = {
      via,
      baseURL: rec.openaiBaseURL,
      apiKey: "sk-test",
      model: "gpt-4o-mini",
      recorder: rec,
      description: "",
    };
    await supportDesk({ tagalong, ...route });
    await tagalong.flush();
    return {
      name: "OpenAI client",
      adapter: "@tagalong/openai",
      runs: [{ route, resolved, calls: rec.calls() }],
      logs: rec.promptLayer.logs(),
    };
  }
  const pl = () => promptLayer({ apiKey: "pl-test", baseURL: rec.promptLayerURL });

  it("finds nothing wrong when every destination received what each call resolved", async () => {
    const block = frameworkBlock(await observe("portkey", [portkey(), pl()]));
    expect(block.problems).toEqual([]);
    expect(block.text).toMatch(/^✓ OpenAI client/);
    expect(block.text).toMatch(/user +Zoë 😀 +Zoë 😀 +Zoë 😀/);
  });

  it("reports calls that carried no metadata for the destination", async () => {
    const block = frameworkBlock(await observe("portkey", [requesty(), pl()]));
    expect(block.problems).toContain("Portkey: call #1 carried no metadata");
    expect(block.text).toMatch(/^✗ OpenAI client/);
  });

  it("reports PromptLayer logs that did not arrive", async () => {
    const run = await observe("requesty", [requesty(), pl()]);
    const block = frameworkBlock({ ...run, logs: [] });
    expect(block.problems).toEqual(["PromptLayer: 0 logs for 2 model calls"]);
  });

  it("reports a value that differs from what the call resolved", async () => {
    const run = await observe("requesty", [requesty(), pl()]);
    const [first] = run.runs;
    const resolved = first!.resolved.map((m) => ({ ...m, user: "someone-else" }));
    const block = frameworkBlock({ ...run, runs: [{ ...first!, resolved }] });
    expect(block.problems).toEqual([
      'Requesty: user arrived as ["Zoë 😀"], expected ["someone-else"]',
      'PromptLayer: user arrived as ["Zoë 😀"], expected ["someone-else"]',
    ]);
    expect(block.text).toContain("✗");
  });
});
