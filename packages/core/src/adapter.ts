// `@tagalong/core/adapter`: what an adapter (a framework integration) needs to attach Tagalong to a call
// and to hand the finished call back. Users of Tagalong do not need this entry point.
export { withBodyFields, withBodyFieldsInJson, withHeaders } from "./body";
export { currentScope, type ScopeFrame, scopesFollowAsync } from "./scope";
export { createScopeStore, type ScopeStore } from "./scope-store";
export type { PreparedCall, Tagalong } from "./tagalong";
export type { CallStatus, ChatMessage, CompletedCall, Metadata } from "./types";
