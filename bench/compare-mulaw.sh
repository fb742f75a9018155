#!/usr/bin/env bash
# Side by side on this machine, one recording: the PyTorch reference μ-law GRU
# (../shared/reference/torch_mulaw_rnn.py: GRU 128, trained for a fixed time, 2 s sampled after the
# loudest half second) and Sequence Lab's audio defaults (categorical GRU 128, 2 s sampled after the
# loudest held-out half second), each continuation judged by ../shared/reference/audio_compare.py
# against the recording. Needs Debian's python3-torch, python3-numpy and sox.
#   bash bench/compare-mulaw.sh [RECORDING.wav] [SECONDS]     (defaults: runs/audio/vowel.wav, 240)
set -euo pipefail
cd "$(dirname "$0")/.."
rec=${1:-runs/audio/vowel.wav}
seconds=${2:-240}
ref=../shared/reference
out=runs/compare-mulaw/$(basename "$rec" .wav)
mkdir -p "$out"
echo "# PyTorch reference ($seconds s of training)"
/usr/bin/python3 "$ref/torch_mulaw_rnn.py" "$rec" "$out/torch.wav" --seconds "$seconds" --units 128 --gen 2
echo "# Sequence Lab (audio defaults)"
./bin/sequence-lab train --wav "$rec" --out "$out/ours" --overwrite --json | tail -1
./bin/sequence-lab generate --model "$out/ours" --length 32000 --out "$out/ours.wav" --json | tail -1 | cut -c1-160
echo "# audio_compare.py: PyTorch's continuation, then ours, against the recording"
/usr/bin/python3 "$ref/audio_compare.py" "$rec" "$out/torch.wav"
/usr/bin/python3 "$ref/audio_compare.py" "$rec" "$out/ours.wav"
