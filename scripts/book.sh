#!/usr/bin/env bash
# Build the course website into _build/html, strictly: a warning or a failing cell fails the build.
#
#   scripts/book.sh            build (incrementally: only changed chapters are re-read and re-executed)
#   scripts/book.sh --clean    drop everything under _build first, then build from scratch
#
# Environment: VENV (default .venv) is the virtual environment that holds jupyter-book.
#
# Executed outputs are cached by jupyter-cache in _build/.jupyter_cache, keyed on each notebook's own code only.
# A chapter's outputs also depend on rnn_ref (and on its corpus), so a hash of rnn_ref and pyproject.toml is
# stored next to the cache; when it changes, the cache and Sphinx's environment are dropped and every chapter
# runs again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
JB="$VENV/bin/jupyter-book"
BUILD=_build
CACHE="$BUILD/.jupyter_cache"
DOCTREES="$BUILD/.doctrees"
HASH_FILE="$BUILD/.rnn_ref.sha256"
LOG="$BUILD/book-build.log"

if [[ ! -x "$JB" ]]; then
    echo "error: $JB not found; run 'make setup' (or pip install -e '.[book]') first" >&2
    exit 2
fi

if [[ "${1:-}" == "--clean" ]]; then
    echo "book: removing $BUILD"
    rm -rf "$BUILD"
fi
mkdir -p "$BUILD"

# Everything a chapter's outputs depend on besides its own code: the package, its corpus, the pinned versions.
rnn_ref_hash() {
    {
        find rnn_ref -type f \( -name '*.py' -o -name '*.txt' \) -not -path '*/__pycache__/*' -print0 \
            | LC_ALL=C sort -z | xargs -0 sha256sum
        sha256sum pyproject.toml
    } | sha256sum | cut -d' ' -f1
}
new_hash="$(rnn_ref_hash)"
old_hash="$(cat "$HASH_FILE" 2>/dev/null || true)"
if [[ "$new_hash" != "$old_hash" ]]; then
    if [[ -e "$CACHE" || -e "$DOCTREES" ]]; then
        echo "book: rnn_ref or pyproject.toml changed since the last build: dropping the execution cache"
    fi
    # The doctrees go too: otherwise Sphinx would not even re-read a chapter whose own source is unchanged.
    rm -rf "$CACHE" "$DOCTREES" "$BUILD/html" "$BUILD/jupyter_execute"
    # Whatever the cache holds from now on was computed with this rnn_ref, even if this build fails.
    echo "$new_hash" >"$HASH_FILE"
fi

show_reports() {
    local reports
    reports="$(find "$BUILD/html/reports" -type f -name '*.log' 2>/dev/null | sort || true)"
    if [[ -n "$reports" ]]; then
        echo
        echo "================ execution reports ================"
        while IFS= read -r report; do
            echo "---------------- $report"
            cat "$report"
        done <<<"$reports"
    fi
}

# The cell diagrams of the chapters (SVG), drawn from code; a file is rewritten only when its drawing changes.
"$VENV/bin/python" scripts/diagrams.py book/diagrams

# Reports of earlier failures would be shown again: keep only this build's.
rm -rf "$BUILD/html/reports"
start=$SECONDS
set +e
"$JB" build . --builder html --warningiserror --keep-going 2>&1 | tee "$LOG"
status=$?
set -e
# Belt and braces: Sphinx ends a clean build with "build succeeded" (with problems, "build finished with problems").
if [[ $status -ne 0 ]] || ! grep -q 'build succeeded' "$LOG"; then
    show_reports
    echo
    echo "book: BUILD FAILED (exit status $status) after $((SECONDS - start)) s; full log in $LOG" >&2
    exit 1
fi
echo
echo "book: built in $((SECONDS - start)) s. Open it in a browser:"
echo "    file://$PWD/$BUILD/html/index.html"
