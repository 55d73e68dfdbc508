import { describe, expect, it } from "vitest";
import { scrubSecrets } from "./redact";

describe("scrubSecrets", () => {
  it("replaces the known secrets, longest first, wherever they appear", () => {
    expect(scrubSecrets("key abcd1234 and abcd1234-long", ["abcd1234", "abcd1234-long"])).toBe(
      "key [redacted] and [redacted]",
    );
    // Too short to be a credential: left alone rather than shredding the text.
    expect(scrubSecrets("a b c", ["b"])).toBe("a b c");
  });

  it.each([
    ["Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer [redacted]"],
    ["Incorrect API key provided: sk-proj-AbCdEf0123456789", "Incorrect API key provided: [redacted]"],
    ["anthropic sk-ant-api03-xyzXYZ0123456789", "anthropic [redacted]"],
    ["langfuse pk-lf-1234abcd-5678", "langfuse [redacted]"],
    ["promptlayer pl_0123456789abcdef", "promptlayer [redacted]"],
    ['{"api_key": "s3cr3t-value"}', '{"api_key": "[redacted]"}'],
    ["x-api-key=hunter2hunter2", "x-api-key=[redacted]"],
    // A credential's name after a prefix of its own (OAuth's, AWS's).
    ["invalid_client: client_secret=abcdef123456", "invalid_client: client_secret=[redacted]"],
    ['{"refresh_token": "1//0gAbCdEfGh"}', '{"refresh_token": "[redacted]"}'],
    ["aws_session_token: abcdEFGH1234", "aws_session_token: [redacted]"],
    ["GET https://user:pa55word@example.com/v1", "GET https://[redacted]@example.com/v1"],
    [
      "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
      "jwt [redacted]",
    ],
    ["token 0123456789abcdef0123456789abcdef0123", "token [redacted]"],
    ["aws AKIAIOSFODNN7EXAMPLE", "aws [redacted]"],
  ])("scrubs %s", (text, expected) => {
    expect(scrubSecrets(text)).toBe(expected);
  });

  it("leaves ordinary error text alone", () => {
    const text =
      "Rate limit reached for gpt-4o-mini in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000. " +
      "See https://platform.openai.com/docs/guides/rate-limits/usage-tiers and max_tokens=100";
    expect(scrubSecrets(text)).toBe(text);
  });
});
