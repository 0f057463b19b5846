#!/usr/bin/env bash
# Checks the editor support in editors/ against the scenario corpus: every .conn file must
# highlight without an error token.
#
#   scripts/check-editors.sh            the corpus (scripts/scenarios) and the valid fixtures
#   scripts/check-editors.sh FILE|DIR…  those files instead
#
# 1. TextMate grammar (editors/vscode/syntaxes/conn.tmLanguage.json): scripts/editors/tmcheck.py
#    tokenizes each line with the grammar's own regexes (python3's re, no npm) and fails on any
#    character that is not blank and is unscoped or scoped invalid.*; a self-test first checks
#    that deliberately broken lines are flagged and known good ones are not.
# 2. Vim (editors/vim/syntax/conn.vim): vim -Es loads each file and fails on any character in
#    no syntax group or in connError; skipped with a message when vim is not installed.
#
# Exit codes: 0 clean, 1 error tokens (or a self-test failed), 2 a tool is missing (python3).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
grammar="$root/editors/vscode/syntaxes/conn.tmLanguage.json"
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=("$root/scripts/scenarios" "$root/Tests/ConnSyntaxTests/Fixtures/valid")
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "check-editors: python3 is not installed" >&2
  exit 2
fi

status=0
echo "== TextMate grammar"
python3 "$root/scripts/editors/tmcheck.py" "$grammar" --self-test "${targets[@]}" || status=1

echo "== Vim syntax"
if ! command -v vim >/dev/null 2>&1; then
  echo "SKIP: vim is not installed"
else
  files=()
  for t in "${targets[@]}"; do
    if [ -d "$t" ]; then
      while IFS= read -r f; do files+=("$f"); done < <(find "$t" -name '*.conn' | sort)
    else
      files+=("$t")
    fi
  done
  out=$(mktemp)
  trap 'rm -f "$out" "$out.bad"' EXIT
  run_vim() {
    CONN_VIM_OUT="$1" vim -Es -u NONE -N -i NONE --cmd "set rtp^=$root/editors/vim" \
      -S "$root/editors/vim/check.vim" -- "${@:2}" </dev/null || true
  }
  # Self-test: a deliberately broken line must be flagged.
  printf 'sock s = stream inet\nconnect s 127.0.0.1:80 $$\n' >"$out.bad"
  run_vim "$out" "$out.bad"
  if ! grep -q ':2:24: connError' "$out"; then
    echo "vim: self-test: the broken line was not flagged" >&2
    status=1
  fi
  : >"$out"
  run_vim "$out" "${files[@]}"
  if [ ! -s "$out" ]; then
    echo "vim: no result (did vim load editors/vim/check.vim?)" >&2
    status=1
  else
    n=$(grep -vc '^vim: ' "$out" || true)
    if [ "$n" -gt 0 ]; then grep -v '^vim: ' "$out" >&2; status=1; fi
    echo "$(grep '^vim: ' "$out"), $n error characters"
  fi
fi
exit $status
