// AudioWorklet processor: copies the first input channel out to the main thread in blocks of
// 4096 frames (recording), or of `processorOptions.blockSize` (live mode: 128, one render quantum).
// With `processorOptions.recycle`, each block's buffer is transferred (not copied) and the main thread
// sends it back once it has been sent on: the audio thread then allocates nothing per block once its
// pool holds as many buffers as are in flight (GC pauses on the audio thread are what glitches).
// Plain JavaScript: worklets load as separate modules.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.size = Number.isInteger(o.blockSize) && o.blockSize > 0 ? o.blockSize : 4096;
    this.recycle = o.recycle === true;
    this.spare = [];
    this.block = new Float32Array(this.size);
    this.filled = 0;
    this.port.onmessage = (e) => {
      if (e.data === 'flush') {
        this.port.postMessage(this.block.slice(0, this.filled));
        this.filled = 0;
      } else if (this.recycle && e.data instanceof Float32Array && e.data.length === this.size) {
        this.spare.push(e.data);
      }
    };
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      let i = 0;
      while (i < ch.length) {
        const n = Math.min(ch.length - i, this.block.length - this.filled);
        this.block.set(ch.subarray(i, i + n), this.filled);
        this.filled += n;
        i += n;
        if (this.filled === this.block.length) {
          if (this.recycle) {
            this.port.postMessage(this.block, [this.block.buffer]);
            this.block = this.spare.pop() || new Float32Array(this.size);
          } else {
            this.port.postMessage(this.block.slice());
          }
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('sequence-lab-capture', CaptureProcessor);
