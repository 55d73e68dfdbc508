/**
 * One value per JavaScript realm, shared by every copy of every Tagalong package loaded in it (two
 * installs of `@tagalong/ai-sdk`, or the ESM and CJS builds side by side): the first caller creates
 * it under `Symbol.for(key)` on `globalThis`, later ones get the same object.
 */
export function realmSingleton<T>(key: string, create: () => T): T {
  const realm = globalThis as unknown as Record<symbol, T | undefined>;
  const symbol = Symbol.for(key);
  let value = realm[symbol];
  if (value === undefined) {
    value = create();
    realm[symbol] = value;
  }
  return value;
}
