#!/bin/sh
# The whole suite where requires-python (>=3.11) says it runs: on this machine's Python 3.11 (with
# the linter and the type checker) and 3.13, and once more on 3.11 with every runtime dependency at
# the minimum pyproject.toml declares (constraints-min.txt). Called by the README's test command,
# and so by .ci/run. A missing interpreter fails the run: nothing is skipped quietly.
set -eu
cd "$(dirname "$0")/.."

find_python() {  # VERSION: this machine's interpreter of that version (PATH first, then pyenv's)
    for candidate in "python$1" /root/.pyenv/versions/"$1".*/bin/python3 "$HOME"/.pyenv/versions/"$1".*/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "matrix: no Python $1 on this machine (requires-python promises it)" >&2
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
