#!/usr/bin/env bash
# HTTP server benchmark: requests/s and p50/p99 latency (wrk) on a trivial route, affectd's
# server (`affectd-bench http-echo`, GET /hello) side by side with nginx serving a 6-byte static
# file, at 1, 16 and 64 keep-alive connections, in one run. Both on 127.0.0.1, ephemeral ports.
# nginx runs one worker process (affectd's server runs one event-loop thread).
# Usage: benchmarks/http.sh            BENCH_SECONDS=N (default 5) per measurement
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${BENCH_SECONDS:-5}"
BIN="${AFFECTD_BENCH_BIN:-.build/release/affectd-bench}"
command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup-system.sh" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || { echo "nginx missing: run scripts/setup-system.sh" >&2; exit 1; }
[ -x "$BIN" ] || swift build -c release --product affectd-bench >/dev/null

WORK="$(mktemp -d)"
chmod 755 "$WORK"
AFFECTD_PID="" NGINX_PID=""
cleanup() {
  [ -n "$AFFECTD_PID" ] && kill "$AFFECTD_PID" 2>/dev/null && wait "$AFFECTD_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# affectd
"$BIN" http-echo --host 127.0.0.1 --port 0 > "$WORK/affectd.out" 2>&1 &
AFFECTD_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/affectd.out" && break; sleep 0.1; done
AFFECTD_PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/affectd.out")"
[ -n "$AFFECTD_PORT" ] || { echo "affectd-bench http-echo did not start:"; cat "$WORK/affectd.out"; exit 1; } >&2

# nginx with a throw-away config and prefix
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/html" "$WORK/logs"
printf 'hello\n' > "$WORK/html/hello"
chmod -R a+rX "$WORK"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp-body;
  proxy_temp_path $WORK/tmp-proxy;
  fastcgi_temp_path $WORK/tmp-fastcgi;
  uwsgi_temp_path $WORK/tmp-uwsgi;
  scgi_temp_path $WORK/tmp-scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/html;
  }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" 2>"$WORK/nginx.err" &
NGINX_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/hello" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$NGINX_PORT/hello" >/dev/null || { echo "nginx did not start:"; cat "$WORK/nginx.err"; exit 1; } >&2
curl -sf "http://127.0.0.1:$AFFECTD_PORT/hello" >/dev/null

# Runs wrk; prints "rps p50_ms p99_ms".
measure() {
  local url="$1" conns="$2" out
  out="$(wrk -t1 -c"$conns" -d"${SECS}s" --latency "$url")"
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx|Socket errors/ { err = err $0 }
    END { printf "%.0f %.3f %.3f\n", rps, p50, p99; if (err != "") print "  wrk: " err > "/dev/stderr" }'
}

echo "HTTP benchmark: GET /hello (6-byte body), wrk -t1, ${SECS}s per run, keep-alive; $(nproc) CPUs"
echo "affectd-bench: http-echo (1 event-loop thread + Dispatch handlers); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'): 1 worker, static file"
printf '%-6s | %12s %9s %9s | %12s %9s %9s | %9s %9s\n' conns "affectd r/s" "p50 ms" "p99 ms" "nginx r/s" "p50 ms" "p99 ms" "r/s ratio" "p99 ratio"
for c in 1 16 64; do
  read -r a_rps a_p50 a_p99 < <(measure "http://127.0.0.1:$AFFECTD_PORT/hello" "$c")
  read -r n_rps n_p50 n_p99 < <(measure "http://127.0.0.1:$NGINX_PORT/hello" "$c")
  printf '%-6s | %12s %9s %9s | %12s %9s %9s | %9s %9s\n' "$c" "$a_rps" "$a_p50" "$a_p99" "$n_rps" "$n_p50" "$n_p99" \
    "$(awk -v a="$a_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')" \
    "$(awk -v a="$a_p99" -v n="$n_p99" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')"
done
echo "(ratios are affectd / nginx: r/s above 1 and p99 below 1 favour affectd)"
