#!/usr/bin/env bash
# Loads a fresh `bursar serve` with `bursar bench` and reports, besides the
# bench report, the server's peak resident memory (VmHWM) and its CPU time.
#
#   scripts/loadtest.sh [--db postgres://…] [-- bench flags…]
#
# Without --db the server uses SQLite in a new temporary data dir; with it,
# give an empty database (its tables are created). Everything runs on
# 127.0.0.1 and stops when the bench ends. The numbers in BENCHMARKS.md come
# from this script.
set -euo pipefail

db=""
if [[ "${1:-}" == "--db" ]]; then
	db="$2"
	shift 2
fi
[[ "${1:-}" == "--" ]] && shift

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pid=""
stop() {
	if [[ -n "$pid" ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap stop EXIT

(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/bursar" ./cmd/bursar)
dbflags=(--data-dir "$work/data")
[[ -n "$db" ]] && dbflags+=(--db "$db")

"$work/bursar" serve "${dbflags[@]}" --addr 127.0.0.1:0 --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do
	addr="$(sed -n 's/^bursar listening on //p' "$work/serve.out")"
	[[ -n "$addr" ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
	sleep 0.1
done
[[ -n "$addr" ]] || { echo "loadtest: the server did not start" >&2; exit 1; }

key="$("$work/bursar" keys create "${dbflags[@]}" --json | sed 's/.*"secret":"\([^"]*\)".*/\1/')"
status=0
"$work/bursar" bench --addr "$addr" --key "$key" "$@" || status=$?

read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
ticks="$(getconf CLK_TCK)"
echo "server: peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status"), CPU $(( (utime + stime) / ticks )) s (user+system, set-up included)"
exit "$status"
