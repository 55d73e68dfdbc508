// The consumer scenario every smoke variant runs (ESM, CJS, esbuild bundle): one real call through each
// adapter, as a user would write it, at the loopback recorder from the published @tagalong/testing.
// The /*@...@*/ markers are replaced by the variant's code (imports or requires, the LangChain part).
/*@IMPORTS@*/

const VARIANT = process.env.SMOKE_VARIANT ?? "/*@VARIANT@*/";

async function main() {
  const rec = await createRecorder();
  const failures = [];
  const expectUser = (label, user) => {
    const call = rec.calls().find((c) => c.portkey.metadata?._user === user);
    if (!call) failures.push(`${label}: no call reached the recorder with _user=${user}`);
    else if (call.requesty?.user_id !== user)
      failures.push(`${label}: requesty.user_id is ${call.requesty?.user_id}`);
  };
  try {
    const tagalong = createTagalong({
      destinations: [portkey(), requesty()],
      metadata: { environment: "smoke" },
    });

    // @tagalong/openai
    const client = wrapOpenAI(new OpenAI({ apiKey: "sk-smoke", baseURL: rec.openaiBaseURL }), tagalong);
    if (!(client instanceof OpenAI)) failures.push("openai: the wrapped client is not an OpenAI instance");
    await withMetadata({ user: "smoke_openai" }, () =>
      client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    );
    expectUser("openai", "smoke_openai");

    // @tagalong/ai-sdk
    const provider = createOpenAI({ apiKey: "sk-smoke", baseURL: rec.openaiBaseURL, fetch: tagalongFetch() });
    const model = wrapLanguageModel({
      model: provider.chat("gpt-4o-mini"),
      middleware: tagalongMiddleware(tagalong),
    });
    await generateText({ model, prompt: "hi", providerOptions: { tagalong: { user: "smoke_ai_sdk" } } });
    expectUser("ai-sdk", "smoke_ai_sdk");

    // @tagalong/langchain
    /*@LANGCHAIN@*/

    // Any rule the recorder saw broken.
    failures.push(...rec.violations());
  } finally {
    await rec.close();
  }
  if (failures.length) {
    console.error(`${VARIANT}: FAIL\n  ${failures.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`${VARIANT}: ok (openai, ai-sdk, langchain calls arrived with their metadata)`);
}

main().catch((error) => {
  console.error(`${VARIANT}: FAIL`, error);
  process.exit(1);
});
