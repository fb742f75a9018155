#!/usr/bin/env sh
# The recordings the audio families are measured on (issue 9's and 11's bars), made rather than
# downloaded: a sustained sung vowel and a spoken phrase from espeak-ng, a run of plucked strings, a
# bowed-string-like tone and a pink-noise texture from sox. Needs Debian's espeak-ng and sox. Writes DIR (default runs/audio).
set -eu
dir=${1:-runs/audio}
mkdir -p "$dir"
cd "$dir"
# One long (14 s: its held-out last 20 % holds a 0.5 s prime and the 2 s after it) sung "aah" at a steady pitch: espeak's female voice 2 (en+f2) with its pitch range narrowed
# to 150-151 (its sentence intonation otherwise glides 163 -> 148 Hz over the vowel, and a continuation
# could not be judged on holding "its" pitch), at 30 words/min, trimmed of the silence around it.
data=$(espeak-ng --version | sed -n 's/.*Data at: //p')
voices=$(mktemp -d)
cp -r "$data" "$voices/"
sed 's/^pitch .*/pitch 150 151/; s/^name .*/name steady/' "$data/voices/!v/f2" > "$voices/espeak-ng-data/voices/!v/steady"
espeak-ng --path="$voices" -v en+steady -s 30 -w vowel-raw.wav "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaah"
rm -rf "$voices"
sox vowel-raw.wav vowel.wav silence 1 0.05 1% reverse silence 1 0.05 1% reverse
# About 13 s of speech, so that its held-out last 20 % holds the 0.5 s prime and 2 s after it.
espeak-ng -w phrase.wav "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore, and the shells she sells are surely sea shells. Peter Piper picked a peck of pickled peppers; how many pickled peppers did Peter Piper pick?"
# The three below are 14 s too, like the vowel, so that a continuation's 2 s are judged against 2 s of
# held-out truth rather than against the prime.
# Twelve plucked notes of 1.2 s (14.4 s).
i=0
for note in A2 C3 E3 A2 G2 C3 E3 G2 A2 C3 E3 A2; do
  i=$((i + 1))
  sox -n -r 16000 -b 16 "pluck-$i.wav" synth 1.2 pluck "$note" vol 0.8
done
sox pluck-1.wav pluck-2.wav pluck-3.wav pluck-4.wav pluck-5.wav pluck-6.wav pluck-7.wav pluck-8.wav pluck-9.wav pluck-10.wav pluck-11.wav pluck-12.wav pluck.wav
# A bowed-string-like tone: a 196 Hz (G3) sawtooth through two low-pass filters, with a 5.5 Hz
# tremolo of 15 % (the bow's pressure), 14 s.
sox -n -r 16000 -b 16 bowed.wav synth 14 sawtooth 196 vol 0.5 lowpass 3000 lowpass 3000 tremolo 5.5 15
sox -n -r 16000 -b 16 noise.wav synth 14 pinknoise lowpass 3000 vol 0.4
rm -f vowel-raw.wav pluck-*.wav
for f in vowel phrase pluck bowed noise; do echo "$dir/$f.wav: $(soxi -D $f.wav) s at $(soxi -r $f.wav) Hz"; done
