// Runs inside Vercel's edge-runtime VM: a call through wrapOpenAI with per-call metadata.
import { scopesFollowAsync } from "@tagalong/core";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import OpenAI from "openai";
import { API_KEY, type EdgeRunConfig, type EdgeRunResult, edgeTagalong } from "./shared";

export async function run(config: EdgeRunConfig): Promise<EdgeRunResult> {
  const tagalong = edgeTagalong(config);
  const client = wrapOpenAI(new OpenAI({ apiKey: API_KEY, baseURL: config.openaiBaseURL }), tagalong);
  const completion = await client.chat.completions.create(
    { model: "gpt-4o-mini", messages: [{ role: "user", content: `hello from ${config.user}` }] },
    tagalongOptions({ user: config.user }),
  );
  await tagalong.flush();
  return { text: completion.choices[0]?.message.content ?? "", scopesFollowAsync: scopesFollowAsync() };
}
