import type { Executor } from '../../db/transaction';
import { aclGrantsSql, type Holder } from '../access/access.repository';
import { EASYDB_TYPED_SQL } from './bag';

/**
 * The ids of the groups a caller may read, by integer id: all of them (admin or a global
 * bag_read), or the "easydb" groups it belongs to plus those whose ACL grants it bag_read.
 */
export async function findReadableGroupIds(
  db: Executor,
  tenantId: string,
  who: { all: boolean; memberOf: string[]; holder: Holder },
  page: { offset: number; limit: number; afterSeq?: number },
): Promise<{ id: string; seq: number }[]> {
  const q = db('groups as g').select('g.id', 'g.seq').where('g.tenant_id', tenantId).orderBy('g.seq').offset(page.offset).limit(page.limit);
  if (page.afterSeq !== undefined) q.where('g.seq', '>', page.afterSeq);
  if (!who.all) {
    const acl = aclGrantsSql(tenantId, 'bag_read', who.holder);
    q.where((w) => {
      w.whereRaw(acl.sql, acl.bindings as never[]);
      if (who.memberOf.length) w.orWhere((m) => m.whereIn('g.id', who.memberOf).andWhereRaw(EASYDB_TYPED_SQL));
    });
  }
  const rows: { id: string; seq: number | string }[] = await q;
  return rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
}
