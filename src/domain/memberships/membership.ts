export type MemberKind = 'user' | 'group';

export interface MemberRef {
  kind: MemberKind;
  id: string;
}
