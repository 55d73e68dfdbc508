import type { MetadataIssue } from "./types";

const marker = Symbol.for("tagalong.error");

/**
 * The base of every error Tagalong raises. `TagalongError.isInstance` works across duplicate
 * installs of the package, where `instanceof` does not.
 */
export class TagalongError extends Error {
  readonly [marker] = true;
  override name = "TagalongError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  static isInstance(error: unknown): error is TagalongError {
    return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

const invalidMarker = Symbol.for("tagalong.error.invalid-metadata");

/** Metadata broke a rule of the model or of a destination. Raised before anything is sent. */
export class InvalidMetadataError extends TagalongError {
  readonly [invalidMarker] = true;
  override name = "InvalidMetadataError";
  readonly issues: readonly MetadataIssue[];

  constructor(issues: readonly MetadataIssue[]) {
    super(issues.map(formatIssue).join("; "));
    this.issues = issues;
  }

  static override isInstance(error: unknown): error is InvalidMetadataError {
    return (
      TagalongError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[invalidMarker] === true
    );
  }
}

const deliveryMarker = Symbol.for("tagalong.error.delivery");

/** A delivery after the call failed for good. Reaches `onError`, never the caller's code. */
export class DeliveryError extends TagalongError {
  readonly [deliveryMarker] = true;
  override name = "DeliveryError";
  readonly destination: string;
  readonly status?: number;
  readonly attempts: number;

  constructor(
    message: string,
    details: { destination: string; status?: number; attempts: number; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.destination = details.destination;
    this.status = details.status;
    this.attempts = details.attempts;
  }

  static override isInstance(error: unknown): error is DeliveryError {
    return (
      TagalongError.isInstance(error) &&
      (error as unknown as Record<symbol, unknown>)[deliveryMarker] === true
    );
  }
}

/** One issue as a line: `metadata.<path>: <rule> (<destination>)`, as the errors' messages list them. */
export function formatIssue(issue: MetadataIssue): string {
  const where = issue.destination ? ` (${issue.destination})` : "";
  return `metadata.${issue.path}: ${issue.rule}${where}`;
}
