#!/bin/sh
# The suite on every Python requires-python (>=3.11) promises, here 3.11, 3.12 and 3.13, and with
# every runtime dependency at the minimum pyproject.toml declares (constraints-min.txt, on 3.12):
#   3.11, latest dependencies: the linter, the type checker and every test (the primary run);
#   3.12, minimum dependencies, and 3.13, latest: every test but those marked `once` (a browser's
#   rendering, a wheel build, static checks of our sources, scale bounds: their subject does not
#   change with the interpreter or the dependencies), and the hostile soak with fewer sessions, from
#   other seeds than the primary's (so the three runs together try more sessions than one).
# Called by the README's test command, and so by .ci/run. A missing interpreter fails the run:
# nothing is skipped quietly.
set -eu
cd "$(dirname "$0")/.."
# Bytecode is cached in __pycache__ (ignored by git): every `ops` the tests start, and every pytest
# worker's collection, would otherwise compile the same sources again.
unset PYTHONDONTWRITEBYTECODE

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

# The venvs are filled by uv (PyPI's `uv`, installed into the 3.11 venv first): pip spent about 45 s
# of CPU on each venv (resolving, unpacking, compiling), uv about 5; on a 2-core machine that CPU
# came out of the test runs. Each venv is made by its own interpreter's venv module, so it has pip
# too (tests/test_packaging.py builds a wheel with it).
install() {  # DIR [uv pip install args]: install into the venv at DIR, compiled as pip would
    dir=$1
    shift
    .venv/bin/uv pip install -q --compile-bytecode --python "$dir/bin/python" "$@"
}

venv() {  # DIR PYTHON [install args]: a venv with the project and its test extras
    dir=$1 python=$2
    shift 2
    [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
    install "$dir" -e '.[test]' "$@"
}

dependencies() {  # DIR PYTHON [install args]: a venv with the project's dependencies and test extras only
    dir=$1 python=$2
    shift 2
    [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
    "$dir/bin/python" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))' >"$dir/requirements.txt"
    install "$dir" -r "$dir/requirements.txt" "$@"
}

py311=$(find_python 3.11)
py312=$(find_python 3.12)
py313=$(find_python 3.13)

[ -x .venv/bin/python ] || "$py311" -m venv .venv
[ -x .venv/bin/uv ] || .venv/bin/pip install -q 'uv>=0.5'
venv .venv "$py311"
warm() {  # VENV: compile the sources and pytest's rewritten test modules into __pycache__ once
    # (a fresh clone has none: each of the ten workers would otherwise rewrite every test module's
    # asserts itself, about 6 s of CPU each, 10 s cold against 3.5 s warm to collect the suite).
    # The project need not be installed yet: collecting imports it from the source tree. A
    # failure here only loses the head start, so it is ignored; the run itself reports any error.
    PYTHONPATH=$PWD "$1/bin/python" -m compileall -q ops tests >/dev/null 2>&1 || true
    PYTHONPATH=$PWD "$1/bin/python" -m pytest -q -p no:cacheprovider --collect-only >/dev/null 2>&1 || true
}

warm .venv &  # beside the linter and the type checker
warmer=$!
# The other two venvs get the project's dependencies while the 3.11 run goes on (the suite waits
# on its labs more than it computes), one after the other, their output in a log shown if it
# fails; the project itself is installed into each just before its run, as an editable install
# rewrites the egg-info beside the sources, which a running test may be reading.
logs=$(mktemp -d)
{ dependencies .venv-3.12 "$py312" -c constraints-min.txt && echo ok >"$logs/3.12.ok" && warm .venv-3.12
  dependencies .venv-3.13 "$py313" && echo ok >"$logs/3.13.ok" && warm .venv-3.13; } >"$logs/build" 2>&1 &
builder=$!
trap 'kill "$builder" "$warmer" 2>/dev/null || true; rm -rf "$logs"' EXIT
built() {  # VERSION: wait for the builds; their log and a failure if that version's failed
    wait "$builder" || true
    if [ ! -e "$logs/$1.ok" ]; then
        cat "$logs/build" >&2
        echo "matrix: the Python $1 venv could not be built" >&2
        exit 1
    fi
}

.venv/bin/ruff check ops tests bench
.venv/bin/mypy ops
wait "$warmer" || true
echo "== Python 3.11 ($py311), every test"
.venv/bin/pytest -q -n 10

built 3.12
venv .venv-3.12 "$py312" -c constraints-min.txt
echo "== Python 3.12 ($py312), dependencies at their declared minimums (constraints-min.txt)"
OPS_SOAK_SESSIONS=16 OPS_SOAK_SEED=2000 .venv-3.12/bin/pytest -q -n 10 -m "not once"

built 3.13
venv .venv-3.13 "$py313"
echo "== Python 3.13 ($py313)"
OPS_SOAK_SESSIONS=16 OPS_SOAK_SEED=3000 .venv-3.13/bin/pytest -q -n 10 -m "not once"
