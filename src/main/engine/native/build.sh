#!/usr/bin/env sh
# Rebuilds lstm.wasm from lstm.c (needs Debian's clang and lld: apt-get install clang lld).
# The built module is committed, so installing and running Sequence Lab needs no compiler;
# test/unit/fused-recurrent.test.ts checks that lstm.wasm was built from the lstm.c beside it.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O3 -msimd128 -mnontrapping-fptoint -nostdlib -fno-builtin \
  -Wl,--no-entry -Wl,--export=lstm_forward -Wl,--export=lstm_backward -Wl,--export=lstm_generate -Wl,--export=lstm_feed -Wl,--export=gru_forward -Wl,--export=gru_backward -Wl,--export=softmax_xent -Wl,--export=softmax_xent_backward -Wl,--export=stack_feed -Wl,--export=cat_generate -Wl,--export=spec_pack -Wl,--export=spec_frame -Wl,--export=cat_follow -Wl,--export=spec_draw -Wl,--export=mix_nll \
  -Wl,--export=__heap_base -Wl,--stack-first -Wl,-z,stack-size=65536 -Wl,--strip-all \
  -o lstm.wasm lstm.c
sha256sum lstm.c | cut -d' ' -f1 > lstm.c.sha256
