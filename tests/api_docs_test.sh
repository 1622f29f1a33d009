#!/usr/bin/env bash
# Runs every ```sh example of docs/api.md that calls curl against a live `pconv serve`, from the
# fixture folder (photo.png, mask.png); each must exit 0. Then SIGTERM must stop the server with
# status 0.
#   bash tests/api_docs_test.sh PCONV_BINARY FIXTURE_FOLDER docs/api.md
set -euo pipefail
pconv=$1 fixtures=$2 doc=$3
command -v curl >/dev/null || { echo "api_docs_test: curl is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
log="$work/serve.log"
cp "$fixtures/photo.png" "$fixtures/mask.png" "$work/"

"$pconv" serve --model "$fixtures/model.safetensors" --port 0 --threads 1 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
. "$(dirname "$0")/../scripts/serve-ready.sh"

# Each ```sh block that mentions curl, one file each, with the documented address made the live one.
mkdir "$work/examples"
awk -v dir="$work/examples" -v url="http://127.0.0.1:$port" '
  /^```sh$/ {block = ""; inside = 1; next}
  /^```$/ && inside {
    if (block ~ /curl/) { n++; gsub(/http:\/\/localhost:8080/, url, block); printf "%s", block > (dir "/" n ".sh") }
    inside = 0; next
  }
  inside {block = block $0 "\n"}' "$doc"
count=0
for example in $(ls "$work/examples" | sort -n); do
  count=$((count + 1))
  echo "--- example $count:"; cat "$work/examples/$example"
  (cd "$work" && bash -euo pipefail "$work/examples/$example") || { echo "api_docs_test: example $count failed" >&2; exit 1; }
  echo
done
[ "$count" -ge 4 ] || { echo "api_docs_test: found only $count curl examples in $doc" >&2; exit 1; }
for f in filled.png filled.jpg; do [ -s "$work/$f" ] || { echo "api_docs_test: no $f written" >&2; exit 1; }; done

kill -TERM $pid
status=0
wait $pid || status=$?
[ $status -eq 0 ] || { echo "api_docs_test: pconv serve exited with $status on SIGTERM" >&2; cat "$log" >&2; exit 1; }
echo "api_docs_test: $count examples ran; the server stopped cleanly"
