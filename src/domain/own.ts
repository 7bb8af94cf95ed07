/**
 * A map's own entry for a key a client chose: never a property every object inherits. Looked up
 * with `map[key]`, `constructor` found Object's constructor (a field filter on it was a 500).
 */
export function own<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}
