# Sourced by the scripts that run `pconv serve` on a free port: waits until the server whose
# process is $pid and whose stderr goes to $log answers health, and sets $port. Fails, printing
# the log, when the server exits or does not come up within a minute.
port=""
for _ in $(seq 600); do
  port=$(sed -n 's|.*listening on http://[^/]*:\([0-9]*\)/.*|\1|p' "$log")
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "pconv serve did not come up" >&2; cat "$log" >&2; exit 1; }
