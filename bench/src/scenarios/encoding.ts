// 3. Metadata encoding throughput: resolve + validate + encode for Portkey, Requesty and PromptLayer,
// against JSON.stringify of the same object as the floor.
import type { Context } from "../context";
import { encodingTargets, PORTKEY_REQUESTY_PER_CALL } from "../encode-all";
import { fmtRate, opsPerSecond } from "../harness";
import { Section } from "../report";

export async function encoding(ctx: Context): Promise<Section> {
  const section = new Section(
    "3. Metadata encoding throughput",
    [
      "One operation: `prepare()`, what an adapter does on the caller's path: resolve the call's metadata",
      "(defaults < scope < per call), check it against the model and every destination's rules (Portkey,",
      "Requesty and PromptLayer; a second row with Portkey + Requesty only), and encode Portkey's header and",
      "Requesty's body field. PromptLayer's bodies are built in the background at delivery. The metadata",
      "sets every field (user, session, trace, organisation, 2 tags, a prompt with version and variables,",
      "3 extra keys) over an `environment` default. Per-call: a different object each call, so nothing is",
      "cached; scope-only: every call inside one `withMetadata` scope, where `prepare()` is a cache hit.",
      "Over rich defaults: the defaults hold environment, organisation, 2 tags and 4 extra keys, and each",
      "call only its user and session; what the defaults give is encoded once, each call encodes its own.",
      "Floor: `JSON.stringify` of the same object. Single thread, median",
      "of interleaved samples.",
    ].join("\n"),
  );
  const rates = opsPerSecond(encodingTargets(3), {
    samples: ctx.sizes.opsSamples,
    sampleMs: ctx.sizes.opsSampleMs,
  });
  const floor = rates.get("JSON.stringify (floor)")!;
  section.table({
    title: "Operations per second",
    columns: ["operation", "ops/s", "per op", "cost in JSON.stringify's"],
    rows: [...rates.entries()].map(([name, rate]) => [
      name,
      fmtRate(rate),
      `${(1e6 / rate).toFixed(2)} µs`,
      `${(floor / rate).toFixed(1)}×`,
    ]),
  });
  const micros = 1e6 / rates.get(PORTKEY_REQUESTY_PER_CALL)!;
  section.goal({
    what: "prepare() with per-call metadata, Portkey + Requesty",
    target: "<= 5 µs",
    measured: `${micros.toFixed(2)} µs`,
    met: ctx.config.smoke ? undefined : micros <= 5,
  });
  return section;
}
