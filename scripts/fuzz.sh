#!/usr/bin/env bash
# Fuzzes conn's front end (lexer, parser, checker, diagnostic rendering, the compiler, and the
# parsers of command-line values) with libFuzzer and the address sanitizer.
#
#   scripts/fuzz.sh [SECONDS]     run for SECONDS (default 600) from the scenario corpus
#   scripts/fuzz.sh --replay FILE reproduce a saved input without the fuzzer
#
# The build goes to .build-fuzz; the growing corpus to .build-fuzz/corpus (seeded with
# scripts/scenarios and the test fixtures); crashing inputs to .build-fuzz/crashes. Nothing is
# run but the front end: no socket is opened.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "${1:-}" = "--replay" ]; then
  shift
  swift build --product conn-fuzz >&2
  exec "$(swift build --show-bin-path)/conn-fuzz" "$@"
fi
seconds="${1:-600}"

echo "building conn-fuzz with libFuzzer and ASan (swift build -c release --scratch-path .build-fuzz) ..." >&2
swift build -c release --scratch-path .build-fuzz --product conn-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >&2
bin="$(swift build -c release --scratch-path .build-fuzz --show-bin-path)/conn-fuzz"

corpus=.build-fuzz/corpus
crashes=.build-fuzz/crashes
mkdir -p "$corpus" "$crashes"
find scripts/scenarios Tests/ConnSyntaxTests/Fixtures -name '*.conn' -exec cp {} "$corpus/" \;

"$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$crashes/" -print_final_stats=1
