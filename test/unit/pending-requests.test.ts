// The one request/response matcher shared by the engine supervisor and the WebSocket client.
import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/shared/errors';
import { PendingRequests } from '../../src/shared/pending-requests';

const make = () => new PendingRequests<string>((code, message) => new LabError(code, message));

describe('pending requests', () => {
  it('settles each request with the response of its id, validated, in any order', async () => {
    const p = make();
    const sent: number[] = [];
    const a = p.request('models.delete', (id) => sent.push(id));
    const b = p.request('train.cancel', (id) => sent.push(id));
    expect(p.settle({ kind: 'response', id: sent[1], ok: true, result: { cancelled: true } })).toBe(true);
    expect(p.settle({ kind: 'response', id: sent[0], ok: true, result: { deleted: false } })).toBe(true);
    await expect(a).resolves.toEqual({ deleted: false });
    await expect(b).resolves.toEqual({ cancelled: true });
    expect(p.settle({ kind: 'response', id: sent[0], ok: true, result: { deleted: true } })).toBe(false); // answered already
  });

  it('turns an error reply or a malformed result into the caller\'s error with its code', async () => {
    const p = make();
    let id = 0;
    const a = p.request('models.delete', (i) => (id = i));
    p.settle({ kind: 'response', id, ok: false, error: { code: 'busy', message: '"m" is training' } });
    await expect(a).rejects.toMatchObject({ code: 'busy', message: '"m" is training' });
    const b = p.request('models.delete', (i) => (id = i));
    p.settle({ kind: 'response', id, ok: true, result: { deleted: 'yes' } });
    await expect(b).rejects.toMatchObject({ code: 'bad_message', message: expect.stringMatching(/Malformed result for models.delete: deleted/) });
  });

  it('fails everything waiting at once, and a send that throws fails only its own request', async () => {
    const p = make();
    const a = p.request('engine.info', () => {}, 'heartbeat');
    const b = p.request('models.list', () => {});
    expect(p.some((tag) => tag === 'heartbeat')).toBe(true);
    await expect(p.request('models.list', () => { throw new Error('socket closing'); })).rejects.toThrow('socket closing');
    expect(p.size).toBe(2);
    p.failAll('engine_crashed', 'The engine stopped');
    await expect(a).rejects.toMatchObject({ code: 'engine_crashed' });
    await expect(b).rejects.toMatchObject({ code: 'engine_crashed' });
    expect(p.size).toBe(0);
  });
});
