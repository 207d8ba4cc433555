#!/usr/bin/env bash
# Runs the API and one worker on this machine: SQLite, sandbox provider, a demo clinic.
# PORT (default 8000) is where the API listens; DATABASE_URL, REDIS_URL and the other
# settings come from the environment or .env as everywhere (see .env.example).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export DATABASE_URL="${DATABASE_URL:-sqlite+aiosqlite:///./data/clinic_sms.db}"
export REDIS_URL="${REDIS_URL:-redis://localhost:6379/0}"
PORT="${PORT:-8000}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:${PORT}}"
# Secrets at rest need a key: a local one is made once and kept in data/ (not committed).
if [ -z "${SECRETS_KEYS:-}" ]; then
  mkdir -p data
  [ -s data/secrets.key ] || "$BIN/python" -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > data/secrets.key
  SECRETS_KEYS="$(cat data/secrets.key)"
  export SECRETS_KEYS
fi

children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

redis_answers() { "$BIN/python" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$REDIS_URL" 2>/dev/null; }

if ! redis_answers; then
  if command -v redis-server >/dev/null; then
    redis_port=$("$BIN/python" -c "import sys; from urllib.parse import urlsplit; print(urlsplit(sys.argv[1]).port or 6379)" "$REDIS_URL")
    echo "No Redis answers at $REDIS_URL: starting redis-server on port $redis_port for this session."
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --loglevel warning &
    children+=($!)
    for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  else
    echo "No Redis answers at $REDIS_URL and redis-server is not installed." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)" >&2
    echo "or point REDIS_URL at a running Redis." >&2
    exit 1
  fi
fi

"$BIN/python" -m app.cli migrate
demo=$("$BIN/python" -m app.cli demo-clinic)
echo "$demo"
admin_token=$("$BIN/python" -c "from app.core.config import get_settings; print(get_settings().admin_token.get_secret_value())")
note="from ADMIN_TOKEN"
[ "$admin_token" = "change-me" ] && note="the local default; set ADMIN_TOKEN to change it"
echo "Admin token for /v1/clinics: $admin_token ($note)"

"$BIN/python" -m app.worker &
children+=($!)
echo "API on http://localhost:${PORT} (docs at /docs); Ctrl-C stops API and worker. In another shell:"
echo "  export API_KEY=${demo##*: } ADMIN_TOKEN=$admin_token API=http://localhost:${PORT}"
echo "  curl -H \"Authorization: Bearer \$API_KEY\" \$API/v1/settings"
"$BIN/uvicorn" app.main:app --host 0.0.0.0 --port "$PORT" --no-access-log &
children+=($!)
wait -n "${children[@]}"
