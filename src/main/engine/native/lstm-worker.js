// A worker thread holding one LstmShard. The main thread blocks inside a tfjs op (ops are
// synchronous), so commands and results travel through a MessagePort read with
// receiveMessageOnPort, and Atomics on a shared Int32Array wake each side:
// ctrl[0] counts commands sent, ctrl[1] counts results posted, ctrl[2] is set when this thread ends,
// ctrl[3] once it has loaded (the pool gives up a thread that never does).
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { LstmShard } from './lstm-shard.js';

const { module, port, ctrl: sab } = workerData;
const ctrl = new Int32Array(sab);
const shard = new LstmShard(module);
Atomics.store(ctrl, 3, 1);
Atomics.notify(ctrl, 3);
process.on('exit', () => {
  Atomics.store(ctrl, 2, 1);
  Atomics.notify(ctrl, 1);
});

// Every pending command is handled before waiting again (a wake-up may stand for several), and the
// command counter is read before looking for a message, so a command posted in between is not missed.
for (;;) {
  const seen = Atomics.load(ctrl, 0);
  const msg = receiveMessageOnPort(port);
  if (!msg) {
    Atomics.wait(ctrl, 0, seen, 1000);
    continue;
  }
  const m = msg.message;
  if (m.cmd === 'exit') break;
  let reply;
  try {
    if (m.cmd === 'forward') reply = { h: shard.forward(m.T, m.B, m.layers, m.x, m.cell, m.inputs) };
    else if (m.cmd === 'backward') reply = { grads: shard.backward(m.dy) };
    else if (m.cmd === 'forwardSequence') {
      shard.forward(m.T, m.B, m.layers, m.x, m.cell, m.inputs);
      reply = { h: shard.sequence() };
    } else if (m.cmd === 'backwardSequence') reply = shard.backwardSequence(m.dy);
    else if (m.cmd === 'forwardHead') {
      shard.forward(m.T, m.B, m.layers, m.x, m.cell, m.inputs);
      reply = { loss: shard.headLoss(m.targets, m.burn, m.W, m.bias) };
    } else if (m.cmd === 'backwardHead') reply = shard.backwardHead(m.scale);
    else throw new Error(`unknown command ${m.cmd}`);
  } catch (e) {
    reply = { error: String(e && e.message ? e.message : e) };
  }
  port.postMessage(reply);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
