#!/usr/bin/env bash
# Fuzzes the HTTP request parser or the WebSocket frame parser with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz-http.sh [seconds] [request|websocket]   (defaults: 120, request).
# Crashes land in .build-fuzz/http/ (request) or .build-fuzz/websocket/.
# Each parser is compiled on its own with its harness (they import nothing but the standard library).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-120}"
case "${2:-request}" in
  request)
    OUT=.build-fuzz/http SEEDS=Tests/Fuzz/corpus DICT=Tests/Fuzz/http.dict
    SOURCES=(Sources/HTTP/HTTPRequestParser.swift Sources/HTTP/HTTPRequestHead.swift Tests/Fuzz/HTTPParserFuzz.swift) ;;
  websocket)
    OUT=.build-fuzz/websocket SEEDS=Tests/Fuzz/websocket-corpus DICT=Tests/Fuzz/websocket.dict
    SOURCES=(Sources/HTTP/WebSocketFrameParser.swift Sources/HTTP/WebSocketFrame.swift Sources/HTTP/UTF8Validator.swift
             Tests/Fuzz/WebSocketParserFuzz.swift) ;;
  *) echo "usage: $0 [seconds] [request|websocket]" >&2; exit 2 ;;
esac
mkdir -p "$OUT/corpus"
cp -n "$SEEDS"/* "$OUT/corpus/" 2>/dev/null || true

swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HTTPFuzz "${SOURCES[@]}" -o "$OUT/fuzz"

# Working corpus first (grows), committed seeds second (read-only).
"$OUT/fuzz" "$OUT/corpus" "$SEEDS" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -dict="$DICT" -artifact_prefix="$OUT/" -print_final_stats=1
