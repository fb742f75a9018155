import { describe, expect, it } from 'vitest';
import { parseCommandArgs, parseEventPayload, parseMessage, parseCommandResult } from '../../src/shared/protocol';
import { decodeFrame, encodeFrame } from '../../src/shared/wire';

describe('protocol validation', () => {
  it('accepts a well-formed train request and fills its defaults', () => {
    const a = parseCommandArgs('train.start', { name: 'sine-1', source: { kind: 'preset', name: 'sine' } });
    expect(a.model).toEqual({});
    expect(a.config).toEqual({});
  });

  it.each([
    ['train.start', { name: '../escape', source: { kind: 'preset', name: 'sine' } }, /name/],
    ['train.start', { name: 'ok', source: { kind: 'microwave' } }, /source/],
    ['train.start', { name: 'ok', source: { kind: 'preset', name: 'sine' }, config: { epochs: -1 } }, /config.epochs/],
    ['train.start', { name: 'ok', source: { kind: 'samples', name: 'x', sampleRate: 8000, samples: [1, 2] } }, /Float32Array/],
    ['generate.start', { name: 'ok', length: 0 }, /length/],
    ['generate.start', { name: 'ok', length: 10, state: 'abc' }, /state/],
    ['models.get', {}, /name/],
  ] as const)('refuses malformed %s arguments, naming the field', (command, args, field) => {
    expect(() => parseCommandArgs(command, args)).toThrow(field);
    try {
      parseCommandArgs(command, args);
    } catch (e) {
      expect((e as { code?: string }).code).toBe('bad_message');
    }
  });

  it('refuses malformed envelopes, results and events', () => {
    expect(() => parseMessage({ kind: 'request', id: 'one', command: 'x' })).toThrow(/Malformed message/);
    expect(() => parseMessage(null)).toThrow(/Malformed message/);
    expect(() => parseCommandResult('models.list', { models: [{ name: 3 }] })).toThrow(/Malformed result for models.list/);
    expect(() => parseEventPayload('train.progress', { runId: 'r', name: 'n', progress: { type: 'batch' } })).toThrow(/Malformed train.progress event/);
  });
});

describe('binary frames', () => {
  it('carry Float32Arrays as raw floats, exactly, next to JSON', () => {
    const samples = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e-3);
    const state = new Float32Array([0x5153, 1, 0, 1, 1, 4, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    const msg = { kind: 'response', id: 7, ok: true, result: { samples, state, label: 'é ✓', n: -Infinity } };
    const frame = encodeFrame(msg);
    expect(frame.byteLength).toBeGreaterThan(4 * (samples.length + state.length));
    const back = decodeFrame(frame) as typeof msg;
    expect(back.result.samples).toEqual(samples);
    expect(back.result.state).toEqual(state);
    expect(back.result.label).toBe('é ✓');
    expect(back.result.n).toBe(-Infinity);
  });

  it('carry Uint8Arrays (an imported file) of any length beside Float32Arrays, exactly', () => {
    const file = Uint8Array.from({ length: 1003 }, (_, i) => (i * 37) & 255);
    const msg = { a: new Float32Array([1.5, -2]), bytes: file, b: new Float32Array([3]), empty: new Uint8Array(0) };
    const back = decodeFrame(encodeFrame(msg)) as typeof msg;
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(back.bytes).toEqual(file);
    expect(back.a).toEqual(msg.a);
    expect(back.b).toEqual(msg.b);
    expect(back.empty).toEqual(new Uint8Array(0));
    const lying = new TextEncoder().encode(JSON.stringify({ bytes: { $u8: [0, 9] } }));
    const frame = new Uint8Array(4 + lying.length + ((4 - (lying.length % 4)) % 4) + 8);
    new DataView(frame.buffer).setUint32(0, lying.length, true);
    frame.set(lying, 4);
    expect(() => decodeFrame(frame)).toThrow(/attachment \[0, 9 bytes\] is out of range/);
  });

  it('decode from a Node Buffer that is a view into a larger pool', () => {
    const frame = new Uint8Array(encodeFrame({ s: new Float32Array([0.25, NaN, -3]) }));
    const pool = Buffer.alloc(frame.length + 13);
    pool.set(frame, 13);
    const back = decodeFrame(pool.subarray(13)) as { s: Float32Array };
    expect(Array.from(back.s)).toEqual([0.25, NaN, -3]);
  });

  it('refuse truncated or lying frames with a message', () => {
    const frame = new Uint8Array(encodeFrame({ a: new Float32Array([1, 2, 3]) }));
    expect(() => decodeFrame(frame.subarray(0, 2))).toThrow(/too short/);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 2))).toThrow(/whole float32/);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 4))).toThrow(/out of range/);
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(0, 1000, true);
    expect(() => decodeFrame(bad)).toThrow(/declares 1000 bytes/);
  });
});
