#!/usr/bin/env bash
# Run Arcade's demo project: build the server (release), start it on
# 127.0.0.1:7700 with ./arcade-data, and create the demo database
# `tarkov_casino` (profiles, game history, chat) if it does not exist yet.
# Stop with Ctrl-C. Idempotent: a second run reuses the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=${ARCADE_LISTEN:-127.0.0.1:7700}
DATA=${ARCADE_DATA:-./arcade-data}
cargo build --release -p arcade
mkdir -p "$DATA"
if [ -z "${ARCADE_API_KEY:-}" ]; then
  if [ ! -s "$DATA/api-key" ]; then
    head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/standard_/' > "$DATA/api-key"
  fi
  ARCADE_API_KEY=$(cat "$DATA/api-key")
fi
export ARCADE_API_KEY

./target/release/arcade serve --data "$DATA" --listen "$LISTEN" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM EXIT
URL="http://$LISTEN/v1"
for _ in $(seq 1 100); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done

api() { curl -sS -o /dev/null -w '%{http_code}' -X "$1" "$URL$2" -H 'X-Appwrite-Project: local' \
  -H "X-Appwrite-Key: $ARCADE_API_KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
if [ "$(api GET /tablesdb/tarkov_casino)" != 200 ]; then
  echo "seeding the demo database tarkov_casino"
  api POST /tablesdb '{"databaseId":"tarkov_casino","name":"Tarkov Casino"}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables '{"tableId":"user_profiles","name":"Profiles","permissions":["read(\"users\")","create(\"users\")"],"rowSecurity":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/user_profiles/columns/string '{"key":"username","size":32,"required":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/user_profiles/columns/integer '{"key":"balance","required":false,"min":0,"default":1000}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/user_profiles/columns/integer '{"key":"total_games_played","required":false,"min":0,"default":0}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/user_profiles/indexes '{"key":"by_balance","type":"key","columns":["balance"]}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables '{"tableId":"game_history","name":"Game history","permissions":["create(\"users\")"],"rowSecurity":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/columns/string '{"key":"user_id","size":36,"required":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/columns/enum '{"key":"game_type","elements":["coinflip","roulette","slots"],"required":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/columns/integer '{"key":"bet_amount","required":true,"min":1}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/columns/integer '{"key":"win_amount","required":true,"min":0}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/columns/enum '{"key":"outcome","elements":["win","lose"],"required":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/game_history/indexes '{"key":"by_user","type":"key","columns":["user_id"]}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables '{"tableId":"chat_messages","name":"Chat","permissions":["read(\"any\")","create(\"users\")"],"rowSecurity":false}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/chat_messages/columns/string '{"key":"user_id","size":36,"required":true}' >/dev/null
  api POST /tablesdb/tarkov_casino/tables/chat_messages/columns/string '{"key":"text","size":500,"required":true}' >/dev/null
fi
echo "Arcade is serving the demo project at $URL (project id: local). Ctrl-C stops it."
wait $server
