#!/usr/bin/env bash
# Fetches the training, validation and test photographs listed in scripts/photos.tsv from
# Debian's wallpaper packages (downloaded with apt-get download, never installed) into
# data/photos/{train,val,test}/, and writes data/photos/MANIFEST.tsv with each file's source
# package and version, licence, author and SHA-256. Same package versions, same files and split.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
list="$root/scripts/photos.tsv"
out="${1:-$root/data/photos}"
cache="$root/data/debs"
mkdir -p "$cache" "$out"/{train,val,test}

packages=$(grep -v '^#' "$list" | cut -f1 | sort -u)
(cd "$cache" && for p in $packages; do
  ls "$p"_*.deb >/dev/null 2>&1 || apt-get download "$p"
done)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
manifest="$out/MANIFEST.tsv.tmp"
printf 'file\tsplit\tpackage\tversion\tpath\tlicence\tauthor\tsha256\n' > "$manifest"
for p in $packages; do
  deb=$(ls "$cache/$p"_*.deb | head -n 1)
  version=$(dpkg-deb -f "$deb" Version)
  dpkg-deb -x "$deb" "$work/$p"
  grep -v '^#' "$list" | awk -F'\t' -v p="$p" '$1 == p' | while IFS=$'\t' read -r pkg path split licence author; do
    src="$work/$p/$path"
    [ -f "$src" ] || { echo "get-photos: $p $version has no $path" >&2; exit 1; }
    # A name that keeps the source photo recognisable and unique across packages.
    name="$(echo "$path" | sed -E 's|.*/wallpapers/([^/]+)/.*|\1|; s|.*/||; s|\.[^.]*$||')"
    file="$split/${p}__${name}.${path##*.}"
    cp "$src" "$out/$file"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$split" "$p" "$version" "$path" "$licence" "$author" \
      "$(sha256sum "$out/$file" | cut -d' ' -f1)" >> "$manifest"
  done
done
mv "$manifest" "$out/MANIFEST.tsv"
echo "get-photos: $(($(wc -l < "$out/MANIFEST.tsv") - 1)) photos in $out (train $(ls "$out/train" | wc -l), val $(ls "$out/val" | wc -l), test $(ls "$out/test" | wc -l))"
