import type { CompareOp, Criteria, Scalar } from '../../domain/criteria';
import { hasLoneSurrogate } from '../common/request-guards';
import { invalidFilter } from './errors';
import { SCHEMA } from './schemas';

/**
 * SCIM filter parser (RFC 7644 §3.4.2.2) → the core's criteria tree.
 *
 * Written here rather than taken from npm: the filter libraries we looked at do not give us a
 * nesting limit, Entra ID's unquoted values (`externalId eq abc`), URN-qualified extension paths
 * and errors we can turn into `invalidFilter`, and this grammar is small. Precedence: `or` <
 * `and` < `not`/parentheses/value paths. Attribute names and operators are case-insensitive.
 */

/** Deepest nesting of parentheses, `not` and value paths accepted. */
export const MAX_FILTER_DEPTH = 32;
/** Longest filter text accepted. */
export const MAX_FILTER_LENGTH = 16_384;

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'punct'; text: '(' | ')' | '[' | ']'; pos: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: 'punct', text: c, pos: i });
      i++;
    } else if (c === '"') {
      const start = i;
      i++;
      let escaped = false;
      while (i < input.length && (escaped || input[i] !== '"')) {
        escaped = !escaped && input[i] === '\\';
        i++;
      }
      if (i >= input.length) throw invalidFilter(`unterminated string starting at position ${start + 1}`);
      const raw = input.slice(start, i + 1);
      i++;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw invalidFilter(`invalid string escape at position ${start + 1}`);
      }
      if (hasLoneSurrogate(value as string)) throw invalidFilter(`a \\uD800-\\uDFFF escape without its pair in the string at position ${start + 1}`);
      tokens.push({ kind: 'string', value: value as string, pos: start });
    } else {
      const start = i;
      while (i < input.length && !/[\s()[\]"]/.test(input[i])) i++;
      tokens.push({ kind: 'word', text: input.slice(start, i), pos: start });
    }
  }
  return tokens;
}

/**
 * Maps a filter attribute path to the core's canonical path: the core schema URN is dropped,
 * the enterprise extension keeps its URN (`urn:…:enterprise:2.0:User:department`).
 */
export function canonicalPath(path: string): string {
  if (!/^urn:/i.test(path)) return path;
  for (const urn of [SCHEMA.user, SCHEMA.group]) {
    if (path.toLowerCase().startsWith(`${urn.toLowerCase()}:`)) return path.slice(urn.length + 1);
  }
  if (path.toLowerCase().startsWith(`${SCHEMA.enterprise.toLowerCase()}:`)) {
    return `${SCHEMA.enterprise}:${path.slice(SCHEMA.enterprise.length + 1)}`;
  }
  return path;
}

const ATTR_PATH = /^(?:urn:[A-Za-z0-9.:_-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/i;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Criteria {
    if (!this.tokens.length) throw invalidFilter('the filter is empty');
    const tree = this.orExpr(0, false);
    const rest = this.tokens[this.i];
    if (rest) throw invalidFilter(`unexpected ${describe(rest)} at position ${rest.pos + 1}`);
    return tree;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private isWord(t: Token | undefined, word: string): boolean {
    return t?.kind === 'word' && t.text.toLowerCase() === word;
  }

  private expectPunct(text: ')' | ']'): void {
    const t = this.tokens[this.i];
    if (t?.kind !== 'punct' || t.text !== text) throw invalidFilter(`expected "${text}"${t ? ` at position ${t.pos + 1}` : ' at the end'}`);
    this.i++;
  }

  private orExpr(depth: number, inValuePath: boolean): Criteria {
    const items = [this.andExpr(depth, inValuePath)];
    while (this.isWord(this.peek(), 'or')) {
      this.i++;
      items.push(this.andExpr(depth, inValuePath));
    }
    return items.length === 1 ? items[0] : { op: 'or', items };
  }

  private andExpr(depth: number, inValuePath: boolean): Criteria {
    const items = [this.unary(depth, inValuePath)];
    while (this.isWord(this.peek(), 'and')) {
      this.i++;
      items.push(this.unary(depth, inValuePath));
    }
    return items.length === 1 ? items[0] : { op: 'and', items };
  }

  private unary(depth: number, inValuePath: boolean): Criteria {
    if (depth >= MAX_FILTER_DEPTH) throw invalidFilter(`the filter is nested deeper than ${MAX_FILTER_DEPTH} levels`);
    const t = this.peek();
    if (!t) throw invalidFilter('the filter ends where an expression was expected');
    if (this.isWord(t, 'not')) {
      this.i++;
      const open = this.peek();
      if (open?.kind !== 'punct' || open.text !== '(') throw invalidFilter('"not" must be followed by a parenthesised filter');
      this.i++;
      const item = this.orExpr(depth + 1, inValuePath);
      this.expectPunct(')');
      return { op: 'not', item };
    }
    if (t.kind === 'punct' && t.text === '(') {
      this.i++;
      const inner = this.orExpr(depth + 1, inValuePath);
      this.expectPunct(')');
      return inner;
    }
    if (t.kind !== 'word' || !ATTR_PATH.test(t.text)) throw invalidFilter(`expected an attribute path at position ${t.pos + 1}, found ${describe(t)}`);
    this.i++;
    const path = canonicalPath(t.text);
    const next = this.peek();
    if (next?.kind === 'punct' && next.text === '[') {
      if (inValuePath) throw invalidFilter('value filters cannot be nested');
      this.i++;
      const where = this.orExpr(depth + 1, true);
      this.expectPunct(']');
      const after = this.peek();
      if (after?.kind === 'word' && after.text.startsWith('.')) {
        // CASE: Entra ID matches users on `emails[type eq "work"].value eq "x"` (not in the RFC
        // grammar): the element must satisfy the value filter and the comparison on its sub-attribute.
        const sub = after.text.slice(1);
        if (!/^[A-Za-z$][\w$-]*$/.test(sub)) throw invalidFilter(`invalid sub-attribute "${after.text}" at position ${after.pos + 1}`);
        this.i++;
        const term = this.comparison(sub, after.text);
        return { op: 'any', field: path, where: { op: 'and', items: [where, term] } };
      }
      return { op: 'any', field: path, where };
    }
    return this.comparison(path, t.text);
  }

  /** `<op> <value>` or `pr` after an attribute path. */
  private comparison(path: string, shown: string): Criteria {
    const next = this.peek();
    if (!next || next.kind !== 'word') throw invalidFilter(`expected an operator after "${shown}"`);
    const op = next.text.toLowerCase();
    this.i++;
    if (op === 'pr') return { op: 'pr', field: path };
    if (!COMPARE_OPS.has(op)) throw invalidFilter(`unknown operator "${next.text}" at position ${next.pos + 1}`);
    return { op: 'cmp', field: path, cmp: op as CompareOp, value: this.value() };
  }

  private value(): Scalar {
    const t = this.peek();
    if (!t) throw invalidFilter('the filter ends where a value was expected');
    this.i++;
    if (t.kind === 'string') return t.value;
    if (t.kind === 'punct') throw invalidFilter(`expected a value at position ${t.pos + 1}`);
    const lower = t.text.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.text)) return Number(t.text);
    // CASE: Entra ID sends unquoted values (`externalId eq 7b3a-…`); take the word as a string.
    return t.text;
  }
}

function describe(t: Token): string {
  return t.kind === 'string' ? 'a string' : `"${t.text}"`;
}

/** Parses a SCIM filter; every syntax problem is a ScimError 400 invalidFilter. */
export function parseFilter(text: string): Criteria {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  return new Parser(tokenize(text)).parse();
}
