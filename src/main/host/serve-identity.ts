// The browser-mode server's identity, {port, token}, kept in a file (e.g. ~/.sequence-lab/serve.json)
// so that a restarted `serve` answers at the same URL: an open tab reconnects by itself instead of
// being stranded by a new random port and token. Written atomically with mode 0600 (the token is a
// password). `newToken` forgets the old one (after it leaked); a port another program took is given
// up for a free one, and the new one kept.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

const identitySchema = z.object({ port: z.number().int().min(0).max(65_535), token: z.string().regex(/^[0-9a-f]{32,128}$/) });
export type ServeIdentity = z.infer<typeof identitySchema>;

/** The identity in `file`, or a new one (port 0: any free port) when it is absent, unreadable or `newToken` is set. */
export async function loadServeIdentity(file: string, o: { newToken?: boolean } = {}): Promise<ServeIdentity> {
  let stored: ServeIdentity | null = null;
  try {
    const r = identitySchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    if (r.success) stored = r.data;
  } catch {
    // absent or damaged: a new identity replaces it
  }
  const token = !stored || o.newToken ? randomBytes(24).toString('hex') : stored.token;
  return { port: stored?.port ?? 0, token };
}

/** Writes the identity beside its final name, fsyncs and renames it into place, readable by its owner only. */
export async function saveServeIdentity(file: string, id: ServeIdentity): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const h = await fs.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(JSON.stringify(id, null, 2) + '\n');
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.chmod(tmp, 0o600); // the umask may have widened it
  await fs.rename(tmp, file);
}

/**
 * Starts a server with the kept identity and keeps what it got: `start` receives the port to ask for
 * (0 = any) and the token. A kept port that is now in use (EADDRINUSE) is given up for a free one.
 */
export async function startWithServeIdentity<S extends { port: number; token: string }>(
  file: string,
  o: { newToken?: boolean; port?: number },
  start: (id: ServeIdentity) => Promise<S>,
): Promise<S> {
  const id = await loadServeIdentity(file, o);
  const port = o.port ?? id.port;
  let server: S;
  try {
    server = await start({ port, token: id.token });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || o.port !== undefined || port === 0) throw e;
    server = await start({ port: 0, token: id.token });
  }
  await saveServeIdentity(file, { port: server.port, token: server.token });
  return server;
}
