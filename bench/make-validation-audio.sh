#!/usr/bin/env sh
# Recordings for checking a default chosen on bench/make-audio.sh's (so that a choice is not fitted to
# the recordings it is judged on): another voice saying other words, another sung vowel, a square-wave
# tone with a slower tremolo and brown noise, each long enough that its held-out last 20 % holds a
# 0.5 s prime and 2 s after it. Needs Debian's espeak-ng and sox. Writes DIR (default runs/validation).
set -eu
dir=${1:-runs/validation}
mkdir -p "$dir"
cd "$dir"
espeak-ng -v en+m3 -s 150 -w speech.wav "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of light, it was the season of darkness."
espeak-ng -v en+m3 -s 25 -w vowel-raw.wav "ooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
sox vowel-raw.wav vowel.wav silence 1 0.05 1% reverse silence 1 0.05 1% reverse
sox -n -r 16000 -b 16 tone.wav synth 14 square 262 vol 0.4 lowpass 2500 tremolo 4 10
sox -n -r 16000 -b 16 noise.wav synth 14 brownnoise vol 0.5 highpass 100 lowpass 5000
rm -f vowel-raw.wav
for f in speech vowel tone noise; do echo "$dir/$f.wav: $(soxi -D $f.wav) s at $(soxi -r $f.wav) Hz"; done
