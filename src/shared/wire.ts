// Binary WebSocket frames for protocol messages: samples and packed state travel as raw float32,
// not as JSON numbers. Frame: [u32 json length][json][pad to 4 bytes][float32 attachments...].
// In the JSON, each Float32Array is replaced by {"$f32": [offset, length]} (in floats, after the pad),
// and each Uint8Array (an imported file's bytes) by {"$u8": [offset in floats, length in bytes]},
// padded to whole floats.
import { LabError } from './errors';

export function encodeFrame(message: unknown): ArrayBuffer {
  const arrays: (Float32Array | Uint8Array)[] = [];
  let floats = 0;
  const json = JSON.stringify(message, (_key, value) => {
    if (value instanceof Float32Array) {
      const ref = { $f32: [floats, value.length] };
      arrays.push(value);
      floats += value.length;
      return ref;
    }
    if (value instanceof Uint8Array) {
      const ref = { $u8: [floats, value.length] };
      arrays.push(value);
      floats += Math.ceil(value.length / 4);
      return ref;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
    return value;
  });
  const text = new TextEncoder().encode(json);
  const head = 4 + text.length;
  const start = (head + 3) & ~3;
  const buf = new ArrayBuffer(start + 4 * floats);
  new DataView(buf).setUint32(0, text.length, true);
  new Uint8Array(buf, 4, text.length).set(text);
  const out = new Float32Array(buf, start, floats);
  const outBytes = new Uint8Array(buf, start, 4 * floats);
  let o = 0;
  for (const a of arrays) {
    if (a instanceof Float32Array) {
      out.set(a, o);
      o += a.length;
    } else {
      outBytes.set(a, 4 * o);
      o += Math.ceil(a.length / 4);
    }
  }
  return buf;
}

/** Decodes a frame; throws `bad_message` naming what is wrong. Attachments are copied out. */
export function decodeFrame(data: ArrayBuffer | Uint8Array): unknown {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < 4) throw new LabError('bad_message', `Frame of ${bytes.byteLength} bytes is too short`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + len > bytes.byteLength) throw new LabError('bad_message', `Frame declares ${len} bytes of JSON but holds ${bytes.byteLength - 4}`);
  const start = (4 + len + 3) & ~3;
  const tail = Math.max(0, bytes.byteLength - start);
  if (tail % 4 !== 0) throw new LabError('bad_message', 'Frame attachments are not whole float32 values');
  // A copy, not a view: Node's Buffer.slice shares a pooled ArrayBuffer at an unaligned offset.
  const attached = Uint8Array.prototype.slice.call(bytes, start) as Uint8Array;
  const floats = new Float32Array(attached.buffer, 0, tail / 4);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + len));
  } catch {
    throw new LabError('bad_message', 'Frame JSON is not valid UTF-8');
  }
  try {
    return JSON.parse(text, (_key, value) => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        if (Array.isArray(value.$f32) && value.$f32.length === 2) {
          const [o, n] = value.$f32;
          if (!Number.isInteger(o) || !Number.isInteger(n) || o < 0 || n < 0 || o + n > floats.length) {
            throw new LabError('bad_message', `Frame attachment [${o}, ${n}] is out of range`);
          }
          return floats.slice(o, o + n);
        }
        if (Array.isArray(value.$u8) && value.$u8.length === 2) {
          const [o, n] = value.$u8;
          if (!Number.isInteger(o) || !Number.isInteger(n) || o < 0 || n < 0 || 4 * o + n > attached.length) {
            throw new LabError('bad_message', `Frame attachment [${o}, ${n} bytes] is out of range`);
          }
          return attached.slice(4 * o, 4 * o + n);
        }
        if (typeof value.$num === 'string') return Number(value.$num);
      }
      return value;
    });
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw new LabError('bad_message', `Frame JSON is invalid: ${(e as Error).message}`);
  }
}
