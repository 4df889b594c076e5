import type { Db } from './db.js';
import { now } from './store.js';
import type { AuditEntry } from './types.js';

/** Appends one entry to the audit log; inside the caller's transaction when there is one. */
export function writeAudit(db: Db, user: string, action: string, detail: Record<string, unknown> = {}): void {
  db.prepare('INSERT INTO audit_log (at, user, action, detail_json) VALUES (?, ?, ?, ?)').run(now(), user, action, JSON.stringify(detail));
}

/** The newest `limit` entries, newest first. */
export function listAudit(db: Db, limit = 100): AuditEntry[] {
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    id: r.id as number,
    at: r.at as string,
    user: r.user as string,
    action: r.action as string,
    detail: JSON.parse(r.detail_json as string),
  }));
}
