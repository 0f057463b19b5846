#!/usr/bin/env bash
# The benchmark suite: conn against the syscall floor (C), against Python 3, against its own
# targets, and optionally against an older conn. Builds conn and conn-bench in release mode into
# .build-bench (never .build), compiles the C floor with cc -O2 into a temporary directory, runs
# every measurement side by side in rounds, prints a table with each figure's spread and the load
# average before and after, and writes the same figures as JSON (bench-out/bench.json).
#
#   scripts/bench.sh                  full run (about seven minutes; more with --baseline-rev)
#   scripts/bench.sh --smoke          every measurement at a minimal size (seconds): checks the
#                                     command works; the figures mean nothing
#   scripts/bench.sh --runs 9         rounds per measurement (default 7)
#   scripts/bench.sh --iterations N   iterations of the syscall loops (default 100000)
#   scripts/bench.sh --only loops,startup,parse,batch,sim,isolation,instructions
#   scripts/bench.sh --baseline-rev R also build git revision R (in a worktree, .build-bench-base)
#                                     and measure it beside this tree: "before and after"
#   scripts/bench.sh --bin DIR        use the conn and conn-bench already built in DIR (no build)
#   scripts/bench.sh --out DIR        where bench.json goes (default bench-out)
#
# Instruction counts, their parts and the instruction-cache misses (section 7) need valgrind
# (callgrind and cachegrind); without it that section says it was skipped.
# Only loopback and Unix sockets are used; every loop is bounded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bin=""
baseline_rev=""
out="bench-out"
suite_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --baseline-rev) baseline_rev="$2"; shift 2 ;;
    --smoke) suite_args+=(--smoke); shift ;;
    --runs|--iterations|--only) suite_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The same build as the README's install: release, linked statically.
build_flags=(-c release --static-swift-stdlib -Xswiftc -static-executable)
if [ -z "$bin" ]; then
  echo "building (swift build ${build_flags[*]} --scratch-path .build-bench) ..." >&2
  swift build "${build_flags[@]}" --scratch-path .build-bench --product conn >&2
  swift build "${build_flags[@]}" --scratch-path .build-bench --product conn-bench >&2
  bin="$(swift build "${build_flags[@]}" --scratch-path .build-bench --show-bin-path)"
fi
baseline=""
if [ -n "$baseline_rev" ]; then
  tree="$root/.build-bench-base/tree"
  rm -rf "$tree"
  git -C "$root" worktree prune
  git -C "$root" worktree add --detach "$tree" "$baseline_rev" >&2
  trap 'git -C "$root" worktree remove --force "$tree" 2>/dev/null || true' EXIT
  echo "building the baseline ($baseline_rev) ..." >&2
  # An older tree may not link fully statically: then the standard library alone.
  base_build="$root/.build-bench-base/build"
  if ! (cd "$tree" && swift build "${build_flags[@]}" --scratch-path "$base_build" --product conn >&2); then
    (cd "$tree" && swift build -c release --static-swift-stdlib --scratch-path "$base_build" --product conn >&2)
  fi
  baseline="$(cd "$tree" && swift build -c release --scratch-path "$base_build" --show-bin-path)/conn"
  cp "$baseline" "$root/.build-bench-base/conn-$baseline_rev"
  baseline="$root/.build-bench-base/conn-$baseline_rev"
  git -C "$root" worktree remove --force "$tree" >&2
  trap - EXIT
fi
for b in conn conn-bench; do
  [ -x "$bin/$b" ] || { echo "bench.sh: $bin/$b is missing (build it, or give --bin DIR)" >&2; exit 2; }
done

valgrind="$(command -v valgrind || true)"

work="$(mktemp -d "${TMPDIR:-/tmp}/conn-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# valgrind 3.19 cannot read the DWARF 5 debug information Swift writes: it counts copies
# without it (the code is the same).
count_conn="" count_baseline="" count_bench=""
if [ -n "$valgrind" ] && command -v strip >/dev/null 2>&1; then
  strip --strip-debug -o "$work/conn-count" "$bin/conn" && count_conn="$work/conn-count"
  strip --strip-debug -o "$work/conn-bench-count" "$bin/conn-bench" && count_bench="$work/conn-bench-count"
  if [ -n "$baseline" ]; then
    strip --strip-debug -o "$work/baseline-count" "$baseline" && count_baseline="$work/baseline-count"
  fi
fi

cc="${CC:-cc}"
"$cc" -O2 -o "$work/floor" scripts/bench/floor.c

# The interpreter itself, not a version manager's wrapper script in front of it.
python=""
if command -v python3 >/dev/null 2>&1; then
  python="$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
fi

mkdir -p "$out"
"$bin/conn-bench" suite --conn "$bin/conn" --floor "$work/floor" --baseline "$baseline" \
  --python "$python" --python-script "$root/scripts/bench/floor.py" --valgrind "$valgrind" \
  --count-conn "$count_conn" --count-baseline "$count_baseline" --count-bench "$count_bench" \
  --work "$work" --json "$out/bench.json" ${suite_args[@]+"${suite_args[@]}"}
echo "figures written to $out/bench.json" >&2
