import { describe, expect, it } from "vitest";
import { DeliveryError, InvalidMetadataError, TagalongError } from "./errors";

describe("TagalongError", () => {
  it("is recognised by its marker, across copies of the class", () => {
    const err = new InvalidMetadataError([
      { path: "user", rule: "131 chars, Portkey allows 128", destination: "portkey" },
    ]);
    expect(TagalongError.isInstance(err)).toBe(true);
    expect(InvalidMetadataError.isInstance(err)).toBe(true);
    expect(DeliveryError.isInstance(err)).toBe(false);
    expect(err.message).toBe("metadata.user: 131 chars, Portkey allows 128 (portkey)");
    // A structurally separate copy (as from a duplicate install) still passes the check.
    const foreign = Object.assign(new Error("x"), { [Symbol.for("tagalong.error")]: true });
    expect(TagalongError.isInstance(foreign)).toBe(true);
    expect(TagalongError.isInstance(new Error("x"))).toBe(false);
    expect(TagalongError.isInstance(null)).toBe(false);
  });
});
