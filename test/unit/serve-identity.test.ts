// serve's identity survives a restart: the same port and token, kept with mode 0600, a new token on
// request, and a kept port that another program took given up for a free one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadServeIdentity, saveServeIdentity, startWithServeIdentity } from '../../src/main/host/serve-identity';

let dir: string;
let file: string;
const servers: Server[] = [];

/** A TCP listener standing in for `serve`: it reports the port it got. */
async function listen(id: { port: number; token: string }) {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(id.port, '127.0.0.1', () => resolve());
  });
  servers.push(s);
  return { port: (s.address() as { port: number }).port, token: id.token };
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-identity-'));
  file = path.join(dir, 'home', 'serve.json');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await fs.rm(dir, { recursive: true, force: true });
});

describe('serve identity', () => {
  it('a first start gets any free port and a new token, and a restart gets the same ones back', async () => {
    const first = await startWithServeIdentity(file, {}, listen);
    expect(first.port).toBeGreaterThan(0);
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    await new Promise((r) => servers.pop()!.close(r));
    const again = await startWithServeIdentity(file, {}, listen);
    expect(again).toEqual(first);
  });

  it('--new-token replaces the token and keeps the port', async () => {
    await saveServeIdentity(file, { port: 4567, token: 'ab'.repeat(24) });
    const id = await loadServeIdentity(file, { newToken: true });
    expect(id.port).toBe(4567);
    expect(id.token).not.toBe('ab'.repeat(24));
  });

  it('a damaged file is replaced by a new identity, not trusted', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"port": "80", "token": "x"');
    const id = await loadServeIdentity(file);
    expect(id.port).toBe(0);
    expect(id.token).toMatch(/^[0-9a-f]{48}$/);
  });

  it('a kept port now in use is given up for a free one, which is kept', async () => {
    const squatter = await listen({ port: 0, token: '' });
    await saveServeIdentity(file, { port: squatter.port, token: 'cd'.repeat(24) });
    const s = await startWithServeIdentity(file, {}, listen);
    expect(s.port).not.toBe(squatter.port);
    expect(s.token).toBe('cd'.repeat(24));
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ port: s.port, token: 'cd'.repeat(24) });
  });
});
