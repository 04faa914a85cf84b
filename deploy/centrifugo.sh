#!/usr/bin/env bash
# Centrifugo (open-source), a benchmark baseline: built from the Go module proxy, no Docker.
#
#   deploy/centrifugo.sh fetch
#       Builds github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION (default v6.9.1) with
#       `go install` into $STORM_CACHE/centrifugo/$CENTRIFUGO_VERSION (default
#       ~/.cache/storm/centrifugo/v6.9.1), outside the repository. Idempotent; ~3-4 min the first
#       time on 2 shared cores. Prints the binary's path. $STORM_CENTRIFUGO_BIN, if set, is used as
#       is. Exits 3, with one line on stderr, when Go is not installed (callers skip the target).
#   deploy/centrifugo.sh path
#       Prints the binary's path if it is already built (or $STORM_CENTRIFUGO_BIN), else exits 1:
#       never builds (the tests use this, and skip when there is none).
#
# The benchmarks write Centrifugo's configuration themselves (tools/bench/baselines/centrifugo.ts).
set -euo pipefail

VERSION="${CENTRIFUGO_VERSION:-v6.9.1}"
CACHE_DIR="${STORM_CACHE:-$HOME/.cache/storm}/centrifugo/$VERSION"
GO="${CENTRIFUGO_GO:-go}"

die() { echo "centrifugo.sh: $1" >&2; exit "${2:-1}"; }

# Prints the path of the cached binary, building it if needed. Safe to run concurrently: each build
# goes to a private temp dir and is moved into place atomically.
fetch() {
  if [[ -n "${STORM_CENTRIFUGO_BIN:-}" ]]; then
    [[ -x "$STORM_CENTRIFUGO_BIN" ]] || die "STORM_CENTRIFUGO_BIN=$STORM_CENTRIFUGO_BIN is not an executable"
    echo "$STORM_CENTRIFUGO_BIN"; return
  fi
  local bin="$CACHE_DIR/centrifugo"
  if [[ -x "$bin" ]]; then echo "$bin"; return; fi
  command -v "$GO" >/dev/null 2>&1 || die "Go is not installed: cannot build Centrifugo $VERSION" 3
  mkdir -p "$CACHE_DIR"
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/.fetch-XXXXXX")"
  echo "centrifugo.sh: building github.com/centrifugal/centrifugo/v6@$VERSION (a few minutes, once)" >&2
  if ! GOBIN="$tmp" "$GO" install "github.com/centrifugal/centrifugo/v6@$VERSION" >&2; then
    rm -rf "$tmp"; die "go install github.com/centrifugal/centrifugo/v6@$VERSION failed"
  fi
  mv -f "$tmp/centrifugo" "$bin"
  rm -rf "$tmp"
  echo "$bin"
}

cached() {
  local bin="${STORM_CENTRIFUGO_BIN:-$CACHE_DIR/centrifugo}"
  [[ -x "$bin" ]] || die "no Centrifugo binary at $bin (deploy/centrifugo.sh fetch builds it)"
  echo "$bin"
}

case "${1:-}" in
  fetch) fetch ;;
  path) cached ;;
  *) die "usage: deploy/centrifugo.sh fetch|path" ;;
esac
