import { createTagalong, portkey, requesty, promptLayer, withMetadata } from "@tagalong/core";
const t = createTagalong({ destinations: [portkey(), requesty()], onError: (e) => console.log("onError", e?.message) });
const circ = { a: 1 }; circ.self = circ;
for (const [name, m] of [["bigint", { extra: { big: 1n } }], ["circular", { extra: { c: circ } }], ["symbol", { extra: { s: Symbol("x") } }], ["fn", { extra: { f() {} } }], ["toJSON throws", { extra: { x: { toJSON() { throw new Error("boom"); } } } }], ["deep", { extra: { d: JSON.parse("[".repeat(5000) + "]".repeat(5000)) } }]]) {
  try { const p = t.prepare(m); console.log(name, "ok", JSON.stringify(p.headers).slice(0, 120)); } catch (e) { console.log(name, "THROWS", e?.constructor?.name, e?.message?.slice(0, 100)); }
}
