#!/bin/sh
# The whole suite where requires-python (>=3.11) says it runs: on this machine's Python 3.11 (with
# the linter and the type checker) and 3.13, and once more on 3.11 with every runtime dependency at
# the minimum pyproject.toml declares (constraints-min.txt). Called by the README's test command,
# and so by .ci/run. A missing interpreter fails the run: nothing is skipped quietly.
set -eu
cd "$(dirname "$0")/.."

find_python() {  # VERSION: this machine's interpreter of that version (pyenv's builds, then PATH)
    want=$1
    for candidate in /root/.pyenv/versions/"$want".*/bin/python3 "$HOME"/.pyenv/versions/"$want".*/bin/python3 \
                     "python$want"; do
        # A pyenv shim is on PATH whether or not it can run that version: ask the interpreter itself.
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
                "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "matrix: no Python $want on this machine (requires-python promises it)" >&2
    return 1
}

venv() {  # DIR PYTHON [pip args]: a venv with the project and its test extras
    dir=$1 python=$2
    shift 2
    [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
    "$dir/bin/pip" install -q -e '.[test]' "$@"
}

py311=$(find_python 3.11)
py313=$(find_python 3.13)

venv .venv "$py311"
.venv/bin/ruff check ops tests bench
.venv/bin/mypy ops
echo "== Python 3.11 ($py311)"
.venv/bin/pytest -q -n 4

venv .venv-3.13 "$py313"
echo "== Python 3.13 ($py313)"
.venv-3.13/bin/pytest -q -n 4

venv .venv-min "$py311" -c constraints-min.txt
echo "== Python 3.11, dependencies at their declared minimums (constraints-min.txt)"
.venv-min/bin/pytest -q -n 4
