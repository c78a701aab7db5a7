# Shell helpers for the scripts under infra/ and CI: the pinned Python tools, each in its
# own virtual environment, installed when its requirements file changed. Source it from
# the repository root.

# $1: a step's name, the rest: its command. Runs it and says how long it took, so a slow
# run shows where its time went.
step() {
  local name="$1" started=$SECONDS
  shift
  "$@"
  echo "step: $name took $((SECONDS - started)) s"
}

# $1: the venv folder, $2: its requirements file.
ensure_venv() {
  if [ ! -x "$1/bin/python" ]; then
    python3 -m venv "$1"
  fi
  if ! cmp -s "$2" "$1/.requirements"; then
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
    cp "$2" "$1/.requirements"
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
