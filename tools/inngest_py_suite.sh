#!/bin/sh
# Run the Python SDK's own integration suite (inngest-py) against the local engine, no shim.
#
#   sh tools/inngest_py_suite.sh TREE [pytest args...]
#   make inngest-py-suite INNGEST_PY=TREE [PYTEST_ARGS="tests/test_inngest/test_function -k parallel"]
#
# TREE is a checkout of github.com/inngest/inngest-py (the tree near inngest 0.5.19). Its
# tests start a Dev Server themselves unless DEV_SERVER_ENABLED=0; they find it at
# DEV_SERVER_PORT (connect workers at that port + 1, as on the Dev Server). This script starts
# `learninngest engine --memory` on 8288 (+ 8289) or two free ports, makes TREE/.venv once (the SDK from the
# tree, its test packages), runs pytest there and stops the engine, also when pytest fails.
# Not part of `make test`: CI has no such tree. The engine's log goes to $LOG (default
# /tmp/inngest-py-suite-engine.log); pytest's junit report to $JUNIT (default
# /tmp/inngest-py-suite.xml).
set -eu

TREE=${1:?usage: sh tools/inngest_py_suite.sh INNGEST_PY_TREE [pytest args...]}
shift
KIT=$(cd "$(dirname "$0")/.." && pwd)
ENGINE_PY=${ENGINE_PY:-$KIT/.venv/bin/python}
LOG=${LOG:-/tmp/inngest-py-suite-engine.log}
JUNIT=${JUNIT:-/tmp/inngest-py-suite.xml}
TREE=$(cd "$TREE" && pwd)

if [ ! -x "$TREE/.venv/bin/pytest" ]; then
  echo "making $TREE/.venv (once)"
  python3 -m venv "$TREE/.venv"
  # The suite's own pins (its pyproject's dev extra), minus linters and type stubs.
  "$TREE/.venv/bin/pip" install -q -e "$TREE/pkg/inngest[connect]" -e "$TREE/pkg/test_core" \
    -e "$TREE/pkg/inngest_encryption" "Django==5.0" "Flask==3.0.0" "boto3==1.35.47" \
    "cryptography==42.0.5" "fastapi==0.110.0" "moto[s3,server]==5.0.18" "pynacl==1.5.0" \
    "pytest==8.3.4" "pytest-django==4.7.0" "pytest-timeout==2.3.1" "pytest-xdist[psutil]==3.3.1" \
    "sentry-sdk==2.1.1" "structlog==25.2.0" "toml==0.10.2" "tornado==6.4" "uvicorn==0.23.2"
  # Its uv constraint-dependencies: the lowest versions it supports, which its tests are run
  # with (a newer httpx has no TestClient(app=...), which 20 of its tests use).
  "$TREE/.venv/bin/pip" install -q "httpx==0.26.0" "jcs==0.2.1" "protobuf==5.29.4" "psutil==6.0.0" \
    "pydantic==2.11.0" "typing-extensions==4.13.0" "websockets==15.0.0"
fi

# 8288 (and 8289 for the connect gateway) if both are free: some of the suite's clients have no
# base URL and reach the Dev Server's default origin, http://127.0.0.1:8288 (test_serialization,
# test_serve). Otherwise (another engine holds it, or PORT=0) a free port whose next one is free
# too; those tests then fail, which says nothing of the engine.
PORT=$("$ENGINE_PY" - "${PORT:-8288}" <<'EOF'
import socket, sys
wanted = int(sys.argv[1])
if wanted:
    try:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", wanted))
            b.bind(("127.0.0.1", wanted + 1))
        print(wanted)
        sys.exit(0)
    except OSError:
        print(f"port {wanted} or {wanted + 1} is taken: tests that reach the default 8288 will fail", file=sys.stderr)
for _ in range(50):
    with socket.socket() as a:
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        with socket.socket() as b:
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
    print(port)
    break
EOF
)

"$ENGINE_PY" -m learninngest engine --memory --port "$PORT" >"$LOG" 2>&1 &
ENGINE=$!
trap 'kill "$ENGINE" 2>/dev/null; wait "$ENGINE" 2>/dev/null || true' EXIT INT TERM

i=0
until "$ENGINE_PY" -c "import httpx,sys; httpx.get('http://127.0.0.1:$PORT/health').raise_for_status()" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$ENGINE" 2>/dev/null; then
    echo "the engine did not start on port $PORT; its log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.2
done
echo "engine on port $PORT (log: $LOG)"

cd "$TREE"
if [ $# -eq 0 ]; then
  set -- -n 2 tests/test_inngest tests/test_inngest_encryption
fi
status=0
# PATH: the connect tests start `python -c APP` workers, which need the tree's SDK.
PATH="$TREE/.venv/bin:$PATH" DEV_SERVER_ENABLED=0 DEV_SERVER_PORT=$PORT "$TREE/.venv/bin/pytest" -p no:cacheprovider \
  --junitxml="$JUNIT" "$@" || status=$?
exit $status
