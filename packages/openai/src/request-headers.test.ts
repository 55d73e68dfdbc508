import { describe, expect, it } from "vitest";
import { headerNames, withTagalongHeaders } from "./request-headers";

const ours = Object.freeze({ "x-portkey-metadata": '{"_user":"u"}', "x-portkey-trace-id": "t" });
const none = headerNames(undefined);

describe("withTagalongHeaders", () => {
  it("adds ours when the call has no headers, without copying", () => {
    expect(withTagalongHeaders(undefined, ours, none)).toBe(ours);
    expect(withTagalongHeaders(null, ours, none)).toBe(ours);
  });

  it("returns the caller's headers themselves when there is nothing to add", () => {
    const theirs = { "x-app": "1" };
    expect(withTagalongHeaders(theirs, {}, none)).toBe(theirs);
  });

  it("leaves out any header the caller set or removed, in any case and any shape; never changes theirs", () => {
    const record = Object.freeze({ "X-Portkey-Metadata": "mine", "x-app": "1" });
    expect(withTagalongHeaders(record, ours, none)).toEqual({
      "X-Portkey-Metadata": "mine",
      "x-app": "1",
      "x-portkey-trace-id": "t",
    });
    expect(withTagalongHeaders({ "x-portkey-trace-id": null }, ours, none)).toEqual({
      "x-portkey-trace-id": null,
      "x-portkey-metadata": '{"_user":"u"}',
    });
    const headers = new Headers({ "X-Portkey-Trace-Id": "mine" });
    const merged = withTagalongHeaders(headers, ours, none) as Headers;
    expect(merged).not.toBe(headers);
    expect(headerNames(headers)).toEqual(new Set(["x-portkey-trace-id"]));
    expect(merged.get("x-portkey-trace-id")).toBe("mine");
    expect(merged.get("x-portkey-metadata")).toBe('{"_user":"u"}');
    expect(withTagalongHeaders([["X-PORTKEY-METADATA", "mine"]], ours, none)).toEqual([
      ["x-portkey-trace-id", "t"],
      ["X-PORTKEY-METADATA", "mine"],
    ]);
  });

  it("an undefined value is not set (the SDK skips it), so ours is added over it", () => {
    expect(withTagalongHeaders({ "x-portkey-trace-id": undefined }, ours, none)).toEqual({
      "x-portkey-trace-id": "t",
      "x-portkey-metadata": '{"_user":"u"}',
    });
  });

  it("leaves out any header the client's defaultHeaders set", () => {
    const defaults = headerNames({ "X-Portkey-Metadata": "default" });
    expect(withTagalongHeaders(undefined, ours, defaults)).toEqual({ "x-portkey-trace-id": "t" });
    expect(headerNames({ "X-Portkey-Metadata": "default" })).not.toBe(defaults);
  });

  it("reads the SDK's NullableHeaders ({ values, nulls })", () => {
    const nullable = { values: new Headers({ "x-app": "1" }), nulls: new Set(["x-portkey-metadata"]) };
    expect(headerNames(nullable)).toEqual(new Set(["x-app", "x-portkey-metadata"]));
    expect(withTagalongHeaders(nullable, ours, none)).toEqual([
      ["x-portkey-trace-id", "t"],
      ["x-app", "1"],
      ["x-portkey-metadata", null],
    ]);
  });
});
