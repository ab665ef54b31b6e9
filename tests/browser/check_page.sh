#!/bin/sh
# The report page in a real browser: a smoke store (regression and grounding),
# `dist2 report all --format html`, then headless Chromium loads the page with
# check.js first, and this script reads what check.js found: every section laid
# out, every SVG plot with a non-empty box and a series, every picture decoded,
# no error. It also takes a screenshot. Exit 77 (skipped) without Chromium.
# Usage: check_page.sh DIST2_EXE SOURCE_DIR
set -eu
exe=$1
src=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "browser check skipped: no chromium on PATH (make setup installs it)"
  exit 77
fi
work=$(mktemp -d /tmp/dist2-browser.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "browser check FAILED: $*"; exit 1; }
export DIST2_THREADS=1
cd "$src"
for f in table11_regression table1_grounding; do
  "$exe" sweep "experiments/$f.yaml" --profile smoke --store "$work/store" > "$work/sweep.log" 2>&1 ||
    { cat "$work/sweep.log"; fail "smoke sweep of $f"; }
done
"$exe" report all --format html --profile smoke --store "$work/store" --out "$work/out" > "$work/report.log" 2>&1 ||
  { cat "$work/report.log"; fail "dist2 report all"; }
page="$work/out/index.html"
[ -s "$page" ] || fail "no index.html"
cp "$src/tests/browser/check.js" "$work/out/check.js"
sed 's|<head>|<head><script src="check.js"></script>|' "$page" > "$work/out/check.html"

flags="--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --virtual-time-budget=10000"
# shellcheck disable=SC2086
timeout 180 "$browser" $flags --dump-dom "file://$work/out/check.html" > "$work/dom.html" 2> "$work/browser.log" ||
  { tail -20 "$work/browser.log"; fail "chromium --dump-dom"; }
# shellcheck disable=SC2086
timeout 180 "$browser" $flags --window-size=1280,3000 --screenshot="$work/shot.png" "file://$work/out/check.html" \
  > /dev/null 2>> "$work/browser.log" || { tail -20 "$work/browser.log"; fail "chromium --screenshot"; }

report=$(sed -n '/<pre id="dist2-check">/,/<\/pre>/p' "$work/dom.html" | sed 's/<[^>]*>//g')
echo "$report"
[ -n "$report" ] || fail "check.js wrote nothing: the page did not finish loading"
if echo "$report" | grep -q '^\(EMPTY\|BROKEN\|ERROR\)'; then fail "see the lines above"; fi
expected=$(grep -c '<section id=' "$page")
echo "$report" | grep -qx "sections $expected" || fail "expected $expected sections laid out"
for id in table11 figure3 table1 table13 grounding-samples table9 table10; do
  echo "$report" | grep -qx "section $id" || fail "no section $id"
done
svgs=$(echo "$report" | sed -n 's/^svgs //p')
[ "$svgs" -ge 2 ] || fail "expected at least 2 plots (figure3 and learning curves), found $svgs"
images=$(echo "$report" | sed -n 's/^images //p')
[ "$images" -ge 1 ] || fail "expected the grounding sample pictures"
size=$(wc -c < "$work/shot.png")
[ "$size" -gt 20000 ] || fail "screenshot of $size bytes: the page looks blank"
echo "browser check passed: $expected sections, $svgs plots, $images pictures, screenshot $size bytes"
