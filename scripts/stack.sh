#!/usr/bin/env bash
# The local stack: moto (S3, DynamoDB, SES, SNS), sfn-local, local-lambda (every function
# binary behind the Invoke API) and the local Pinpoint recorder, all on 127.0.0.1. `up` starts what is not running and
# provisions; `down` stops only what `up` started (by the pids it recorded).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Pids, logs and generated config; STACK_STATE_DIR lets a second stack run from this checkout.
STATE="${STACK_STATE_DIR:-$ROOT/.stack}"
VENV="$ROOT/.venv"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CLOCK="${SFN_LOCAL_CLOCK:-virtual}"
# Each port can be moved (DESIGN.md "Local stack"), e.g. to run a second stack beside this one.
MOTO_PORT="${MOTO_PORT:-4566}" SFN_PORT="${SFN_PORT:-8083}" LAMBDA_PORT="${LAMBDA_PORT:-9000}" PINPOINT_PORT="${PINPOINT_PORT:-4570}"
API_PORT="${API_PORT:-3000}"
# STACK_FAULTS=1: fault proxies (scripts/fault_proxy.py) between the functions and moto, and
# between the Lambda service and its callers (sfn-local, the gateway and its event pump), transparent until a test arms a fault. Off by
# default: every AWS call of the functions would cross a Python proxy.
FAULTS="${STACK_FAULTS:-0}"
FAULT_MOTO_PORT="${FAULT_MOTO_PORT:-$((MOTO_PORT + 1))}" FAULT_LAMBDA_PORT="${FAULT_LAMBDA_PORT:-$((LAMBDA_PORT + 1))}"
if [[ $FAULTS == 1 ]]; then
  FUNCTIONS_AWS="http://127.0.0.1:$FAULT_MOTO_PORT" SFN_LAMBDA="http://127.0.0.1:$FAULT_LAMBDA_PORT"
else
  FUNCTIONS_AWS="http://127.0.0.1:$MOTO_PORT" SFN_LAMBDA="http://127.0.0.1:$LAMBDA_PORT"
fi
API_URL="http://127.0.0.1:$API_PORT"
# The one description of the stack; STACK_TEMPLATE points at another (a changed copy, say).
TEMPLATE="${STACK_TEMPLATE:-$ROOT/infra/template.yaml}"

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true

log() { printf '[stack] %s\n' "$*"; }

answers() { # url -> 0 when something answers HTTP there
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
PY
}

port_taken() { # port -> 0 when something accepts connections on 127.0.0.1:port
  python3 - "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    s.settimeout(1)
    sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

wait_for() { # name url seconds logfile pid
  local name=$1 url=$2 limit=$3 logfile=$4 pid=$5 waited=0
  until answers "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    sleep 0.5; waited=$((waited + 1))
    if (( waited > limit * 2 )); then
      log "$name did not answer at $url within ${limit}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
  done
  log "$name ready at $url"
}

start() { # name port-variable url ready-seconds command...
  local name=$1 port_var=$2 url=$3 limit=$4; shift 4
  local pidfile="$STATE/$name.pid" logfile="$STATE/$name.log"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    # A stack started before ports were recorded has no .port file: its port is taken as asked.
    local running_port; running_port=$(cat "$STATE/$name.port" 2>/dev/null || echo "${!port_var}")
    if [[ $running_port != "${!port_var}" ]]; then
      log "$name is already running from $STATE on port $running_port, not ${!port_var}: make stack-down first,"
      log "  or give this stack its own STACK_STATE_DIR"
      return 1
    fi
    log "$name already running (pid $(cat "$pidfile"))"; return 0
  fi
  if port_taken "${!port_var}"; then
    log "$name: port ${!port_var} is held by something this stack did not start (another stack or program);"
    log "  stop it, or move this stack: $port_var=<free port> make stack-up"
    return 1
  fi
  log "starting $name"
  setsid "$@" >"$logfile" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  echo "${!port_var}" >"$STATE/$name.port"
  wait_for "$name" "$url" "$limit" "$logfile" "$(cat "$pidfile")"
}

up() {
  mkdir -p "$STATE"
  [[ -x $VENV/bin/moto_server ]] || { log "no virtual environment: run 'make setup'"; exit 1; }
  cat >"$STATE/lambda.env" <<ENV
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_EC2_METADATA_DISABLED=true
AWS_ENDPOINT_URL=$FUNCTIONS_AWS
AWS_ENDPOINT_URL_SFN=http://127.0.0.1:$SFN_PORT
AWS_ENDPOINT_URL_PINPOINT=http://127.0.0.1:$PINPOINT_PORT
RUST_LOG=info
# Small enough that the end-to-end tests exercise file-mover's multipart copy (UploadPartCopy).
MULTIPART_COPY_THRESHOLD_BYTES=8388608
MULTIPART_COPY_PART_BYTES=5242880
ENV
  # Each function's environment, timeout and memory from the template (names and ARNs resolved
  # to the local ones).
  "$VENV/bin/python" "$ROOT/scripts/template.py" lambda-functions --template "$TEMPLATE" --api-url "$API_URL" \
    >"$STATE/functions.json" || return 1
  start moto MOTO_PORT "http://127.0.0.1:$MOTO_PORT/moto-api/" 30 \
    "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" || return 1
  if [[ $FAULTS == 1 ]]; then
    start moto-faults FAULT_MOTO_PORT "http://127.0.0.1:$FAULT_MOTO_PORT/_faults" 15 \
      "$VENV/bin/python" "$ROOT/scripts/fault_proxy.py" --listen "127.0.0.1:$FAULT_MOTO_PORT" --upstream "http://127.0.0.1:$MOTO_PORT" || return 1
  fi
  start pinpoint PINPOINT_PORT "http://127.0.0.1:$PINPOINT_PORT/_local/health" 15 \
    "$TARGET/debug/local-pinpoint" --listen "127.0.0.1:$PINPOINT_PORT" || return 1
  start lambda LAMBDA_PORT "http://127.0.0.1:$LAMBDA_PORT/" 15 \
    "$TARGET/debug/local-lambda" serve --listen "127.0.0.1:$LAMBDA_PORT" --functions "$STATE/functions.json" \
      --env-file "$STATE/lambda.env" --bin-dir "$TARGET/debug" || return 1
  if [[ $FAULTS == 1 ]]; then
    start lambda-faults FAULT_LAMBDA_PORT "http://127.0.0.1:$FAULT_LAMBDA_PORT/_faults" 15 \
      "$VENV/bin/python" "$ROOT/scripts/fault_proxy.py" --listen "127.0.0.1:$FAULT_LAMBDA_PORT" --upstream "http://127.0.0.1:$LAMBDA_PORT" || return 1
  fi
  start sfn-local SFN_PORT "http://127.0.0.1:$SFN_PORT/_sfn-local/health" 15 \
    "$TARGET/debug/sfn-local" serve --listen "127.0.0.1:$SFN_PORT" --clock "$CLOCK" \
      --lambda-endpoint "$SFN_LAMBDA" || return 1
  # Tables, buckets, state machines, routes and S3 notifications from infra/template.yaml.
  AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" "$VENV/bin/python" "$ROOT/scripts/provision.py" \
    --template "$TEMPLATE" --state-dir "$STATE" --sfn-endpoint "http://127.0.0.1:$SFN_PORT" --api-url "$API_URL" || return 1
  start gateway API_PORT "http://127.0.0.1:$API_PORT/" 15 \
    "$TARGET/debug/local-gateway" serve --listen "127.0.0.1:$API_PORT" --routes "$STATE/routes.json" \
      --lambda-endpoint "$SFN_LAMBDA" --pump "$STATE/pump.json" --sqs-endpoint "http://127.0.0.1:$MOTO_PORT" || return 1
  log "up: api :$API_PORT, moto :$MOTO_PORT, sfn-local :$SFN_PORT ($CLOCK clock), lambda :$LAMBDA_PORT, pinpoint :$PINPOINT_PORT"
  if [[ $FAULTS == 1 ]]; then log "fault proxies: :$FAULT_MOTO_PORT (functions -> moto), :$FAULT_LAMBDA_PORT (sfn-local, gateway -> lambda)"; fi
}

down() {
  [[ -d $STATE ]] || { log "nothing to stop"; return 0; }
  for name in gateway sfn-local lambda-faults lambda pinpoint moto-faults moto; do
    local pidfile="$STATE/$name.pid"
    [[ -f $pidfile ]] || continue
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      # setsid made each one a process group: stop it and its children.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      log "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile" "$STATE/$name.port"
  done
}

status() {
  for name in moto moto-faults pinpoint lambda lambda-faults sfn-local gateway; do
    local pidfile="$STATE/$name.pid"
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name: running (pid $(cat "$pidfile"))"
    else
      echo "$name: not started by this stack"
    fi
  done
}

case "${1:-}" in
  up) up || { log "start-up failed: stopping what this run started"; down; exit 1; } ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
