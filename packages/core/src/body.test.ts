import { describe, expect, it } from "vitest";
import { withBodyFieldsInJson } from "./body";

describe("withBodyFieldsInJson", () => {
  const fields = { requesty: { user_id: "u", tags: ["a"] } };

  it("splices the fields in without touching the rest of the body", () => {
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: 'say "hi" {}' }] });
    const out = withBodyFieldsInJson(body, fields);
    expect(JSON.parse(out)).toEqual({ ...fields, ...JSON.parse(body) });
    expect(out.endsWith(body.slice(1))).toBe(true);
    expect(JSON.parse(withBodyFieldsInJson("{}", fields))).toEqual(fields);
    expect(JSON.parse(withBodyFieldsInJson(" { } ", fields))).toEqual(fields);
  });

  it("merges with a field the caller set, the caller's keys winning", () => {
    const body = JSON.stringify({ model: "m", requesty: { user_id: "mine", auto_cache: true } });
    expect(JSON.parse(withBodyFieldsInJson(body, fields))).toEqual({
      model: "m",
      requesty: { user_id: "mine", tags: ["a"], auto_cache: true },
    });
  });

  it("leaves a body that is not a JSON object alone", () => {
    expect(withBodyFieldsInJson("not json", fields)).toBe("not json");
    expect(withBodyFieldsInJson("[1]", fields)).toBe("[1]");
    // An array whose first element is an object is not spliced into.
    expect(withBodyFieldsInJson('[{"a":1}]', fields)).toBe('[{"a":1}]');
  });

  it("returns the text itself when there are no fields", () => {
    const body = '{"model":"m"}';
    expect(withBodyFieldsInJson(body, {})).toBe(body);
  });
});
