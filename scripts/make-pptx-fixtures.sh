#!/usr/bin/env bash
# Regenerates test/fixtures/pptx/*.pptx from the flat-XML presentations (.fodp) beside them,
# with LibreOffice Impress (Debian: apt-get install -y libreoffice-impress). The .pptx files are
# committed, so CI needs no LibreOffice; run this after editing a .fodp and commit both.
# Each <presentation:notes> in a .fodp becomes the slide's notes page in the .pptx.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../test/fixtures/pptx" && pwd)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
for src in "$dir"/*.fodp; do
  soffice -env:UserInstallation="file://$profile" --headless --convert-to pptx --outdir "$dir" "$src"
done
ls -l "$dir"/*.pptx
