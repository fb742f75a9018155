// AudioWorklet processor: copies the first input channel out to the main thread in blocks of
// 4096 frames (recording), or of `processorOptions.blockSize` (live mode: 128, one render quantum).
// Plain JavaScript: worklets load as separate modules.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const size = options && options.processorOptions && options.processorOptions.blockSize;
    this.block = new Float32Array(Number.isInteger(size) && size > 0 ? size : 4096);
    this.filled = 0;
    this.port.onmessage = (e) => {
      if (e.data === 'flush') {
        this.port.postMessage(this.block.slice(0, this.filled));
        this.filled = 0;
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
          this.port.postMessage(this.block.slice());
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('sequence-lab-capture', CaptureProcessor);
