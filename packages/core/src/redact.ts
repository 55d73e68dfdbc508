// Credentials out of text that leaves the process or reaches the user's error hook: error messages
// forwarded to an observability service, delivery errors, log lines.

const REDACTED = "[redacted]";

// Shapes of credentials, most specific first. Each match is replaced whole, except where a group keeps
// the name that introduced the value ("Bearer", "api_key=", a URL's scheme).
const SHAPES: Array<[RegExp, string]> = [
  // Authorization schemes: the scheme stays, the credential goes.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`],
  // key=value and "key": "value" forms of anything named like a credential, its name alone or at the
  // end of a longer one (`client_secret`, `refresh_token`, `aws_session_token`).
  [
    /(?<![A-Za-z0-9])((?:x-)?(?:api[-_]?key|apikey|access[-_]?token|auth[-_]?token|secret|password|passwd|token)["']?\s*[:=]\s*["']?)[^\s"',;&}]{4,}/gi,
    `$1${REDACTED}`,
  ],
  // user:password@ in a URL.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  // JSON Web Tokens.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, REDACTED],
  // Prefixed API keys: OpenAI and Anthropic (sk-...), Langfuse (pk-lf-/sk-lf-), PromptLayer (pl_...),
  // LangSmith (lsv2_...), Stripe-like (rk_/pk_...), GitHub (ghp_...), Slack (xox.-).
  [/\b(?:sk|pk|rk|pl|lsv2|ghp|gho|ghs|xox[abprs])[-_][A-Za-z0-9][A-Za-z0-9_-]{7,}/g, REDACTED],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
];

// Long opaque runs (hex or base64) with letters and digits mixed: tokens, not words. Slashes end a run,
// so a URL's path stays readable.
const LONG_TOKEN = /[A-Za-z0-9+_-]{32,}={0,2}/g;
const looksLikeToken = (run: string): boolean => /\d/.test(run) && /[A-Za-z]/.test(run);

/**
 * `text` with credentials replaced by `[redacted]`: every one of `knownSecrets` (the call's own API keys
 * and credential header values; those shorter than 4 characters are ignored), and anything shaped like
 * a credential: `Bearer ...`, `api_key=...`, `sk-...`/`pk-...`/`pl_...` keys, JWTs, URL passwords,
 * and long hex or base64 runs.
 */
export function scrubSecrets(text: string, knownSecrets: readonly (string | undefined)[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  const known = knownSecrets
    .filter((s): s is string => typeof s === "string" && s.length >= 4)
    .sort((a, b) => b.length - a.length);
  for (const secret of known) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out.replace(LONG_TOKEN, (run) => (looksLikeToken(run) ? REDACTED : run));
}
