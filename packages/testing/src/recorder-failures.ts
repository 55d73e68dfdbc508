// The recorder's failure rules: what `rec.fail()` installs (an injected status, a hang, a reset, or a
// slow answer), which rule a request meets, and how a failed request is answered.
import type { ServerResponse } from "node:http";
import { openaiError, sendJson } from "./openai-api";
import type { FailureOptions, FailureRule, RecordedRequest, RequestKind } from "./types";

export interface Rule {
  options: FailureOptions;
  hits: number;
  remaining: number;
  active: boolean;
  /** Answers a hang rule holds, destroyed when the rule is cleared or the connections dropped. */
  held: Set<ServerResponse>;
}

/** A rule that only delays the answer (no status, hang or reset). */
export function isSlowAnswer(o: FailureOptions): boolean {
  return o.delayMs !== undefined && o.status === undefined && !o.hang && !o.reset;
}

export function matches(rule: Rule, req: RecordedRequest): boolean {
  const { path, kind } = rule.options;
  if (kind !== undefined && req.kind !== kind) return false;
  if (path === undefined) return true;
  if (path instanceof RegExp) return path.test(req.path);
  const prefix = path.endsWith("/") ? path : `${path}/`;
  return req.path === path || req.path.startsWith(prefix);
}

/** The failure an outage of that kind of service answers with. */
function errorBody(kind: RequestKind, status: number): unknown {
  const message = `recorder: injected ${status}`;
  if (kind === "openai") {
    const type =
      status === 401
        ? "invalid_api_key"
        : status === 429
          ? "rate_limit_exceeded"
          : status >= 500
            ? "server_error"
            : "invalid_request_error";
    return openaiError(message, type, status === 401 ? "invalid_api_key" : null);
  }
  if (status === 422) return { detail: [{ loc: ["body"], msg: message, type: "value_error" }] };
  return { success: false, message };
}

/** The installed rules, in the order `fail()` added them. */
export class FailureRules {
  private readonly rules: Rule[] = [];

  /** Installs a rule (what `rec.fail()` does) and returns its public handle. */
  add(o: FailureOptions): FailureRule {
    const rule: Rule = {
      options: { ...o },
      hits: 0,
      remaining: o.times ?? Number.POSITIVE_INFINITY,
      active: true,
      held: new Set(),
    };
    this.rules.push(rule);
    return {
      options: rule.options,
      get hits() {
        return rule.hits;
      },
      clear() {
        rule.active = false;
        for (const res of rule.held) res.destroy();
        rule.held.clear();
      },
    };
  }

  /** The first live rule `record` meets, counted as a hit; undefined when none does. */
  take(record: RecordedRequest): Rule | undefined {
    if (this.rules.length === 0) return undefined;
    const rule = this.rules.find((r) => r.active && r.remaining > 0 && matches(r, record));
    if (rule) {
      rule.hits++;
      rule.remaining--;
    }
    return rule;
  }

  /** Answers `record` as `rule` says: a reset socket, a held answer, or an injected status. */
  answer(rule: Rule, record: RecordedRequest, res: ServerResponse): void {
    const o = rule.options;
    if (o.reset) {
      record.outcome = "reset";
      res.socket?.destroy();
      return;
    }
    if (o.hang) {
      record.outcome = "hung";
      rule.held.add(res);
      return;
    }
    record.outcome = "failed";
    const status = o.status ?? 500;
    const headers: Record<string, string> = {};
    if (o.retryAfter !== undefined) {
      headers["retry-after"] = String(o.retryAfter);
      headers["retry-after-ms"] = String(Math.round(o.retryAfter * 1000));
    }
    if (record.kind === "openai") headers["x-request-id"] = `req_rec_fail_${record.seq}`;
    sendJson(res, status, o.body ?? errorBody(record.kind, status), headers);
  }

  /** Forgets the held answers (their sockets are being destroyed). */
  releaseHeld(): void {
    for (const rule of this.rules) rule.held.clear();
  }

  /** Deactivates and removes every rule, destroying the answers they hold. */
  clear(): void {
    for (const rule of this.rules) {
      rule.active = false;
      for (const res of rule.held) res.destroy();
    }
    this.rules.length = 0;
  }
}
