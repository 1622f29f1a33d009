#!/usr/bin/env bash
# Runs the two commands of docs/training.md's "Your first model in 10 minutes" on generated photos,
# for a few seconds instead of ten minutes: training must stop at its time limit with a model
# file, and that model must fill the example.
#   bash tests/training_docs_test.sh PCONV_BINARY PHOTO_FOLDER docs/training.md
set -euo pipefail
pconv=$1 photos=$2 doc=$3
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
commands=$(awk '/^## Your first model/ {section = 1} section && /^```sh$/ {inside = 1; next}
                inside && /^```$/ {exit} inside {print}' "$doc")
[ "$(printf '%s\n' "$commands" | grep -c '^pconv ')" = 2 ] || { echo "expected two pconv commands in $doc" >&2; exit 1; }
mkdir -p "$work/data/photos" "$work/examples"
ln -s "$photos" "$work/data/photos/train"
ln -s "$photos" "$work/data/photos/val"
cp "$root/examples/ladybird.jpg" "$root/examples/ladybird_mask.png" "$work/examples/"
cd "$work"
printf '%s\n' "$commands" | sed -e "s|^pconv |\"$pconv\" |" -e 's|--time-limit 10m|--time-limit 3s --threads 1|' > run.sh
cat run.sh
bash -e run.sh
test -s runs/first/model.safetensors
test -s first.png
grep -q '"val"' runs/first/metrics.jsonl || echo "note: the run stopped before its first validation"
echo "training docs test passed"
