// Decodes an opened audio file in a worker (decode-worker.ts): the page stays responsive and gets
// the waveform's peaks with the samples. One worker per file, terminated when it answers.
import type { DecodeReply, DecodeRequest } from './decode-worker';

export type DecodedFile = Extract<DecodeReply, { ok: true }>;

export async function decodeAudioFile(file: File): Promise<DecodedFile> {
  const bytes = await file.arrayBuffer();
  const worker = new Worker(new URL('./decode-worker.ts', import.meta.url), { type: 'module' });
  try {
    const reply = await new Promise<DecodeReply>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<DecodeReply>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`${file.name}: the decoder stopped (${e.message || 'worker error'})`));
      worker.postMessage({ name: file.name, bytes } satisfies DecodeRequest, [bytes]);
    });
    if (!reply.ok) throw new Error(reply.message);
    return reply;
  } finally {
    worker.terminate();
  }
}
