import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Db } from '../../db/knex';
import { InvalidInput } from '../errors';
import type { Principal } from '../principal';
import { findSigningSecret } from './signing-secrets.repository';

/**
 * Opaque, signed page tokens (`q64`) for Groups v2 search: the search a page link repeats,
 * bound to the tenant, stamped with an expiry and signed with HMAC-SHA256. The server keeps
 * nothing per search; any instance can open a token another one sealed. A large envelope is
 * compressed, a small one (every search of a few criteria) is not:
 *   q64 = base64url(deflate(envelope)) "." base64url(hmac of the first part)
 *   q64 = "p." base64url(envelope) "." base64url(hmac of "p." and the second part)
 * where envelope = JSON {v, t: tenant, e: expiry, d: data}.
 */
export const Q64_TTL_SECONDS = 3600;
/** Longest q64 accepted or made: page links must fit in a request line. */
export const Q64_MAX_LENGTH = 8000;
/** The most a q64 may inflate to. */
const MAX_INFLATED_BYTES = 64 * 1024;
const SECRET_NAME = 'groups_v2_q64';
/**
 * Envelopes shorter than this are sealed as they are. Deflating one of ~200 bytes saved ~25 of
 * them and cost ~17 µs (zlib's set-up of its state), most of what sealing the page link of a
 * search cost; the deflated form stays for the large ones, whose links must fit Q64_MAX_LENGTH.
 */
const DEFLATE_FROM_BYTES = 512;
/** The first part of a token whose envelope is not compressed. */
const PLAIN = 'p';

interface Envelope {
  v: 1;
  t: string;
  e: number;
  d: unknown;
}

export interface Q64Options {
  /** Seconds since the epoch (tests move the clock). */
  now?: number;
  ttlSeconds?: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const mac = (secret: Buffer, body: string) => createHmac('sha256', secret).update(`q64.v1.${body}`).digest();

function invalid(reason: string): InvalidInput {
  return new InvalidInput(`the q64 value is ${reason}; run the search again with POST /api/v2/groups/search`, { field: 'q64' });
}

/** Seals `data` for the tenant; throws InvalidInput when the token would be too long for a link. */
export function sealQ64(secret: Buffer, tenantId: string, data: unknown, opts: Q64Options = {}): string {
  const envelope: Envelope = { v: 1, t: tenantId, e: (opts.now ?? nowSeconds()) + (opts.ttlSeconds ?? Q64_TTL_SECONDS), d: data };
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  // The signed text of a plain token starts with "p.", which no deflated body (base64url) holds.
  const signed = json.length < DEFLATE_FROM_BYTES ? `${PLAIN}.${json.toString('base64url')}` : deflateRawSync(json).toString('base64url');
  const token = `${signed}.${mac(secret, signed).toString('base64url')}`;
  if (token.length > Q64_MAX_LENGTH) throw new InvalidInput('the search request is too large to page through; make it shorter', { criteria: true });
  return token;
}

/** Opens a token sealed for this tenant; tampered, foreign, expired or malformed ones are InvalidInput. */
export function openQ64(secret: Buffer, tenantId: string, token: string, opts: Q64Options = {}): unknown {
  const m = /^((?:p\.)?)([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!m || token.length > Q64_MAX_LENGTH) throw invalid('malformed');
  const [, plain, body, signature] = m;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, plain + body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('not valid (altered or not issued here)');
  let envelope: Envelope;
  try {
    const bytes = Buffer.from(body, 'base64url');
    envelope = JSON.parse((plain ? bytes : inflateRawSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES })).toString('utf8')) as Envelope;
  } catch {
    throw invalid('malformed');
  }
  if (envelope?.v !== 1 || typeof envelope.e !== 'number') throw invalid('malformed');
  // CASE: a token of another tenant is refused like a forged one, revealing nothing about it.
  if (envelope.t !== tenantId) throw invalid('not valid (altered or not issued here)');
  if (envelope.e < (opts.now ?? nowSeconds())) throw invalid('expired');
  return envelope.d;
}

/** Seals and opens q64 tokens with the database's shared secret (read once per process). */
export function q64Service(db: Db) {
  let secret: Promise<Buffer> | undefined;
  const key = (): Promise<Buffer> => {
    secret ??= findSigningSecret(db, SECRET_NAME).then((s) => {
      if (!s) throw new Error(`signing secret "${SECRET_NAME}" is missing: run the migrations`);
      return s;
    });
    secret.catch(() => {
      secret = undefined;
    });
    return secret;
  };
  return {
    /** A q64 for this principal's tenant carrying `data`. */
    async sealSearchPage(p: Principal, data: unknown): Promise<string> {
      return sealQ64(await key(), p.tenantId, data);
    },
    /** The data of a q64 sealed for this principal's tenant. */
    async openSearchPage(p: Principal, q64: string): Promise<unknown> {
      return openQ64(await key(), p.tenantId, q64);
    },
  };
}
