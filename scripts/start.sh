#!/usr/bin/env bash
# npm start: run the gateway on its embedded defaults (SQLite, local recordings, self-made CA) in
# ./data (or PORTCULLIS_DATA), creating it on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
data="${PORTCULLIS_DATA:-./data}"
node bin/portcullis.js init --data "$data" --if-missing
exec node bin/portcullis.js serve --data "$data"
