#!/usr/bin/env bash
# Side by side on this machine: the PyTorch reference (Debian's python3-torch) and `sequence-lab bench`
# for the sine preset (3x16, window 50, batch 128) and 2x128 (window 256, batch 64).
#   apt-get install -y python3-torch   # once
#   bash bench/compare-pytorch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ref=../shared/reference/torch_lstm_bench.py
echo "# PyTorch reference"
/usr/bin/python3 "$ref"
/usr/bin/python3 "$ref" --units 128,128 --window 256 --batch 64 --batches 5 --steps 2000
echo "# Sequence Lab"
./bin/sequence-lab bench --config sine,2x128 --backends wasm --seconds 3
