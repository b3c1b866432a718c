#!/usr/bin/env bash
# Fuzzes the HTTP request parser with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz-http.sh [seconds]   (default 120). Crashes land in .build-fuzz/http/.
# The parser is compiled on its own (it imports nothing but the standard library).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-120}"
OUT=.build-fuzz/http
mkdir -p "$OUT/corpus"
cp -n Tests/Fuzz/corpus/* "$OUT/corpus/" 2>/dev/null || true

swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HTTPFuzz \
  Sources/HTTP/HTTPRequestParser.swift Sources/HTTP/HTTPRequestHead.swift Tests/Fuzz/HTTPParserFuzz.swift \
  -o "$OUT/http-parser-fuzz"

# Working corpus first (grows), committed seeds second (read-only).
"$OUT/http-parser-fuzz" "$OUT/corpus" Tests/Fuzz/corpus \
  -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -dict=Tests/Fuzz/http.dict -artifact_prefix="$OUT/" -print_final_stats=1
