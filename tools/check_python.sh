#!/bin/sh
# Before make (re)uses .venv: is it healthy, and can PYTHON build a new one?
#
#   sh tools/check_python.sh PYTHON VENV ORIGIN GOAL
#
# ORIGIN is make's $(origin PYTHON): "file" when nobody chose one, so a working .venv is
# kept whatever `python3` is today. A .venv that no longer runs, or was made by a Python
# older than the kit needs (the first failed `make run`), or by another Python than the one
# asked for on the command line, is removed so that make builds it again instead of failing
# the same way forever. Plain sh: the interpreter under test may be too old for our code.
set -u

MIN_MAJOR=3
MIN_MINOR=11 # keep equal to requires-python in pyproject.toml (tests/test_setup.py checks)

PYTHON=${1:-python3}
VENV=${2:-.venv}
ORIGIN=${3:-file}
GOAL=${4:-run}

# "3.11.7" from an interpreter, or nothing if it does not run.
version_of() {
  "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null
}

# Is version $1 ("3.10.12") at least MIN_MAJOR.MIN_MINOR?
recent_enough() {
  major=${1%%.*}
  rest=${1#*.}
  minor=${rest%%.*}
  case "$major$minor" in '' | *[!0-9]*) return 1 ;; esac
  [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

major_minor() {
  echo "$1" | cut -d. -f1-2
}

# Newer interpreters on PATH, to suggest one by name.
candidates() {
  for minor in 14 13 12 11; do
    name="python3.$minor"
    if command -v "$name" >/dev/null 2>&1 && recent_enough "$(version_of "$name")"; then
      printf '%s ' "$name"
    fi
  done
}

need="$MIN_MAJOR.$MIN_MINOR"
explicit=no
case "$ORIGIN" in "command line" | environment | "environment override") explicit=yes ;; esac

# 1. Is the existing .venv fine as it is?
reason=""
if [ -d "$VENV" ]; then
  venv_version=$(version_of "$VENV/bin/python")
  if [ -z "$venv_version" ]; then
    reason="its Python no longer runs (removed or upgraded since)"
  elif ! recent_enough "$venv_version"; then
    reason="it was made by Python $venv_version, older than $need"
  elif [ "$explicit" = yes ]; then
    wanted=$(version_of "$PYTHON")
    if [ -z "$wanted" ]; then
      reason="keep" # but say below that the PYTHON asked for does not run
    elif [ "$(major_minor "$wanted")" != "$(major_minor "$venv_version")" ]; then
      reason="it was made by Python $venv_version and PYTHON=$PYTHON is Python $wanted"
    fi
  fi
  if [ -z "$reason" ]; then
    exit 0
  fi
fi

# 2. A new .venv is needed: can PYTHON make it?
version=$(version_of "$PYTHON")
if [ -z "$version" ] || ! recent_enough "$version"; then
  if [ -z "$version" ]; then
    echo "error: PYTHON=$PYTHON does not run here; the kit needs Python $need or newer." >&2
  else
    echo "error: the kit needs Python $need or newer, but PYTHON=$PYTHON is Python $version." >&2
  fi
  found=$(candidates)
  found=${found% }
  if [ -n "$found" ]; then
    echo "  Installed here: $found" >&2
    echo "  Run:  make $GOAL PYTHON=${found%% *}" >&2
  else
    echo "  Install Python $need or newer (python.org; macOS: brew install python@3.12;" >&2
    echo "  Ubuntu/Debian: sudo apt install python3.12 python3.12-venv; or uv python install 3.12)," >&2
    echo "  then run:  make $GOAL PYTHON=python3.12" >&2
  fi
  exit 1
fi

if [ -n "$reason" ] && [ "$reason" != keep ]; then
  echo "removing $VENV: $reason; it will be made again with $PYTHON (Python $version)"
  rm -rf "$VENV"
fi
exit 0
