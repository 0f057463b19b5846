#!/usr/bin/env bash
# The benchmark suite (issue 8): conn against the syscall floor (C), against Python 3, and
# against its own targets. Builds conn and conn-bench in release mode into .build-bench (never
# .build), compiles the C floor with cc -O2 into a temporary directory, runs every measurement
# side by side, prints a table, and writes the same figures as JSON (bench-out/bench.json).
#
#   scripts/bench.sh                 full run (a few minutes)
#   scripts/bench.sh --smoke         every measurement at a minimal size (seconds): checks the
#                                    command works; the figures mean nothing
#   scripts/bench.sh --runs 3        runs per measurement (medians; default 5)
#   scripts/bench.sh --iterations N  iterations of the syscall loops (default 100000)
#   scripts/bench.sh --only loops,startup,parse,batch,sim,isolation
#   scripts/bench.sh --bin DIR       use the conn and conn-bench already built in DIR (no build)
#   scripts/bench.sh --out DIR       where bench.json goes (default bench-out)
#
# Only loopback and Unix sockets are used; every loop is bounded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bin=""
out="bench-out"
suite_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --smoke) suite_args+=(--smoke); shift ;;
    --runs|--iterations|--only) suite_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$bin" ]; then
  echo "building (swift build -c release --scratch-path .build-bench --static-swift-stdlib) ..." >&2
  swift build -c release --scratch-path .build-bench --static-swift-stdlib --product conn >&2
  swift build -c release --scratch-path .build-bench --static-swift-stdlib --product conn-bench >&2
  bin="$(swift build -c release --scratch-path .build-bench --static-swift-stdlib --show-bin-path)"
fi
for b in conn conn-bench; do
  [ -x "$bin/$b" ] || { echo "bench.sh: $bin/$b is missing (build it, or give --bin DIR)" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/conn-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cc="${CC:-cc}"
"$cc" -O2 -o "$work/floor" scripts/bench/floor.c

# The interpreter itself, not a version manager's wrapper script in front of it.
python=""
if command -v python3 >/dev/null 2>&1; then
  python="$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
fi

mkdir -p "$out"
"$bin/conn-bench" suite --conn "$bin/conn" --floor "$work/floor" \
  --python "$python" --python-script "$root/scripts/bench/floor.py" \
  --work "$work" --json "$out/bench.json" ${suite_args[@]+"${suite_args[@]}"}
echo "figures written to $out/bench.json" >&2
