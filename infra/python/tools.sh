# Shell helpers for the scripts under infra/ and CI: the pinned Python tools, each in its
# own virtual environment, installed when its requirements file changed. Source it from
# the repository root.

# $1: a step's name, the rest: its command. Runs it and says how long it took, so a slow
# run shows where its time went.
step() {
  local name="$1" started=$SECONDS status=0
  shift
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "step: $name failed (exit $status) after $((SECONDS - started)) s" >&2
    return "$status"
  fi
  echo "step: $name took $((SECONDS - started)) s"
}

# Work side by side: `lane NAME COMMAND...` runs a command (a function of steps, say) in
# the background, its output held in a file so that lanes do not interleave; `join_lanes`
# waits for every lane, prints each one's output in the order they started, and fails if
# any failed. The machine has two cores, and a test run waiting on a single-threaded stand-in
# leaves part of them idle: a second lane uses it.
lane_names=() lane_pids=() lane_logs=()
lane() {
  local name="$1" log
  shift
  log="$(mktemp)"
  ( "$@" ) >"$log" 2>&1 &
  lane_names+=("$name") lane_pids+=("$!") lane_logs+=("$log")
}
join_lanes() {
  local i failed=0
  for i in "${!lane_pids[@]}"; do
    local status=0
    wait "${lane_pids[$i]}" || status=$?
    cat "${lane_logs[$i]}"
    rm -f "${lane_logs[$i]}"
    if [ "$status" -ne 0 ]; then
      failed=1
      echo "lane failed: ${lane_names[$i]} (exit $status)" >&2
    fi
  done
  lane_names=() lane_pids=() lane_logs=()
  return "$failed"
}
# For an exit trap: stops the lanes still running and every process each started (a
# server a check started outlives its check when only the check is stopped).
stop_lanes() {
  local pid tree=()
  for pid in "${lane_pids[@]}"; do
    tree+=("$pid" $(descendants "$pid"))
  done
  # Gathered before any is stopped: a stopped parent's children no longer name it.
  [ "${#tree[@]}" -eq 0 ] || kill -TERM "${tree[@]}" 2>/dev/null || true
}
descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}

# $1: the venv folder, $2: its requirements file. uv installs them: pip took over a
# minute of CPU for what uv does in seconds, and in CI the installs share the two cores
# with clippy.
ensure_venv() {
  # Chained with &&, not left to `set -e`: a step or a condition switches that off, and a
  # failed install must never be marked done.
  if [ -x "$1/bin/python" ] && cmp -s "$2" "$1/.requirements"; then
    return 0
  fi
  local uv="$PWD/.venv-uv/bin/uv"
  uv_installer &&
    { [ -x "$1/bin/python" ] || "$uv" venv --quiet --python "$(command -v python3)" "$1"; } &&
    "$uv" pip install --quiet --python "$1/bin/python" -r "$2" &&
    cp "$2" "$1/.requirements"
}

# uv, pinned, in a venv of its own (pip installs it: a single wheel).
uv_installer() {
  local venv="$PWD/.venv-uv" requirements="$PWD/infra/python/requirements-uv.txt"
  if [ ! -x "$venv/bin/uv" ] || ! cmp -s "$requirements" "$venv/.requirements"; then
    { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" &&
      cp "$requirements" "$venv/.requirements"
  fi
}

# cargo-lambda and the SAM CLI, on PATH.
deploy_tools() {
  ensure_venv "$PWD/.venv-deploy" "$PWD/infra/python/requirements-dev.txt"
  export PATH="$PWD/.venv-deploy/bin:$PATH" SAM_CLI_TELEMETRY=0
}

# moto, cfn-lint and the contract tools (not put on PATH).
test_tools() {
  ensure_venv "$PWD/.venv" "$PWD/infra/python/requirements-test.txt"
}

# checkov, in a venv of its own (its pins clash with the test tools').
checkov_tools() {
  ensure_venv "$PWD/.venv-checkov" "$PWD/infra/python/requirements-checkov.txt"
}

# The contract's Node tools (validator, TypeScript client generator, tsc, puppeteer-core),
# pinned in infra/contract/package-lock.json.
contract_tools() {
  local contract="$PWD/infra/contract"
  if ! cmp -s "$contract/package-lock.json" "$contract/node_modules/.package-lock.json.installed"; then
    (cd "$contract" && npm ci --no-audit --no-fund --loglevel=error) &&
      cp "$contract/package-lock.json" "$contract/node_modules/.package-lock.json.installed"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# $1: a URL that answers once the server is up, $2: the server's pid, $3: its log.
wait_for() {
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$1')" 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { cat "$3"; echo "the server did not start" >&2; return 1; }
    sleep 0.2
  done
  echo "the server did not answer at $1" >&2
  return 1
}
