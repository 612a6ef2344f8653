#!/usr/bin/env bash
# Regenerates the app icons (monogram "S" on a dark rounded square) with ImageMagick.
# Tauri needs 8-bit RGBA PNGs, hence the PNG32: prefix.
set -euo pipefail
cd "$(dirname "$0")"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
convert -size 512x512 xc:none \
  -fill '#1f2933' -draw 'roundrectangle 16,16 495,495 96,96' \
  -fill '#3b82f6' -draw 'roundrectangle 96,404 416,428 12,12' \
  -font "$FONT" -pointsize 340 -fill '#f5f7fa' -gravity center -annotate +0-18 'S' \
  -strip PNG32:icon.png
convert icon.png -resize 32x32 -strip PNG32:32x32.png
convert icon.png -resize 128x128 -strip PNG32:128x128.png
convert icon.png -resize 256x256 -strip PNG32:128x128@2x.png
