import { describe, expect, it } from "vitest";
import { chatInput, chatOutput, contentText, responsesInput, responsesOutput, textsInput } from "./messages";

describe("contentText", () => {
  it("joins text parts with newlines and stands media in with short placeholders", () => {
    expect(
      contentText([
        { type: "text", text: "Look:" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
        { type: "file", file: { filename: "a.pdf", file_data: "AAAA" } },
        { type: "input_file", file_id: "file_1" },
        { type: "refusal", refusal: "no" },
      ]),
    ).toBe("Look:\n[image]\n[audio]\n[file: a.pdf]\n[file]\nno");
    expect(contentText(null)).toBe("");
  });
});

describe("chatInput", () => {
  it("keeps roles, names, tool calls and tool results; maps the deprecated function role and call", () => {
    expect(
      chatInput([
        { role: "developer", content: "Rules" },
        { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
        { role: "function", name: "f", content: "42" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "c1", type: "custom", custom: { name: "sql", input: "select 1" } }],
        },
        { role: "unknown", content: "skipped" },
        "not a message",
      ]),
    ).toEqual([
      { role: "developer", content: "Rules" },
      { role: "assistant", content: "", toolCalls: [{ id: "", name: "f", arguments: "{}" }] },
      { role: "tool", content: "42", name: "f" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "sql", arguments: "select 1" }] },
    ]);
  });
});

describe("chatOutput", () => {
  it("one assistant message per choice; a refusal stands as the content", () => {
    expect(
      chatOutput({
        choices: [
          { message: { role: "assistant", content: "a" } },
          { message: { role: "assistant", content: null, refusal: "I can't" } },
        ],
      }),
    ).toEqual([
      { role: "assistant", content: "a" },
      { role: "assistant", content: "I can't" },
    ]);
  });
});

describe("Responses items", () => {
  it("folds text and the tool calls after it into one assistant turn", () => {
    expect(
      responsesOutput({
        output: [
          { type: "reasoning", summary: [] },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
          { type: "function_call", call_id: "c1", name: "a", arguments: "{}" },
          { type: "custom_tool_call", call_id: "c2", name: "b", input: "x" },
        ],
      }),
    ).toEqual([
      {
        role: "assistant",
        content: "Checking.",
        toolCalls: [
          { id: "c1", name: "a", arguments: "{}" },
          { id: "c2", name: "b", arguments: "x" },
        ],
      },
    ]);
  });

  it("reads instructions, easy messages, tool outputs (text or parts) and skips references", () => {
    expect(
      responsesInput(
        [
          { role: "user", content: "hi" },
          { type: "item_reference", id: "msg_1" },
          { type: "function_call_output", call_id: "c1", output: [{ type: "input_text", text: "ok" }] },
        ],
        "Be brief.",
      ),
    ).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
      { role: "tool", content: "ok", toolCallId: "c1" },
    ]);
  });
});

describe("textsInput", () => {
  it("each text a user message; token arrays left out", () => {
    expect(textsInput(["a", [1, 2], "b"])).toEqual([
      { role: "user", content: "a" },
      { role: "user", content: "b" },
    ]);
    expect(textsInput([1, 2, 3])).toEqual([]);
  });
});
