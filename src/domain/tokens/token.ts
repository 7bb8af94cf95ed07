import { createHash, randomBytes } from 'node:crypto';

/** Prefix that makes Roster tokens recognisable in secret scanners. */
export const TOKEN_PREFIX = 'rst_';

/** A new random token: 32 bytes of entropy, base64url. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The only form in which a token is stored or compared. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface TokenRecord {
  id: string;
  tenantId: string;
  name: string;
  kind: string;
  rights: string[];
  userId: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  /** Whether the user it acts as is active, where the token API reads it (the token is refused while not). */
  userActive?: boolean;
}

/** What audit events say about a token (never its hash). */
export const tokenAuditView = (t: TokenRecord) => ({ name: t.name, kind: t.kind, rights: t.rights, userId: t.userId, expiresAt: t.expiresAt, revokedAt: t.revokedAt });

/** Parses "90d", "12h", "30m" or "3600s" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
