import { describe, expect, it } from "vitest";
import { headerBytes, headerJson, isSafeHeaderValue } from "./header";

describe("headerJson", () => {
  it("escapes every non-ASCII character so the value is a ByteString, and round-trips exactly", () => {
    const value = { _user: "Zoë 😀", k: "naïve\u007f\u0000\n\r\u2028" };
    const json = headerJson(value);
    expect(json).toMatch(/^[\u0020-\u007e]*$/);
    expect(JSON.parse(json)).toEqual(value);
    // Node's fetch accepts it as a header value; the raw JSON would throw.
    expect(() => new Headers({ "x-portkey-metadata": json })).not.toThrow();
    expect(() => new Headers({ "x-portkey-metadata": JSON.stringify(value) })).toThrow();
  });

  it("keeps lone surrogates round-trippable", () => {
    const value = { k: "a\ud800b" };
    expect(JSON.parse(headerJson(value))).toEqual(value);
  });
});

describe("isSafeHeaderValue", () => {
  it("accepts printable ASCII only", () => {
    expect(isSafeHeaderValue("trace-1 ok")).toBe(true);
    for (const bad of ["a\r\nb", "a\nb", "tab\t", "é", "\u007f"]) expect(isSafeHeaderValue(bad)).toBe(false);
  });
});

describe("headerBytes", () => {
  it("counts name, value and separators", () => {
    expect(headerBytes({ ab: "cde" })).toBe(2 + 3 + 4);
    expect(headerBytes({})).toBe(0);
  });
});
