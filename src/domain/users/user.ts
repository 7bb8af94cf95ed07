/** A user as the core knows it. `resource` holds the dialect-neutral profile (SCIM attributes). */
export interface User {
  id: string;
  seq: number;
  tenantId: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface UserFields {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  resource: Record<string, unknown>;
}

export type NewUser = Partial<UserFields> & { userName: string };
export type UserChanges = Partial<UserFields>;

export interface UserListQuery {
  offset: number;
  limit: number;
  userName?: string;
}
