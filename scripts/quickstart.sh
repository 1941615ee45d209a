#!/usr/bin/env bash
# Set up the environment and run one regional node (Europe) on its own, seeded with the
# sample members and events. Re-running reuses the node in $HEALTHNET_QUICKSTART_HOME.
#   HEALTHNET_QUICKSTART_HOME  the node home (default var/europe)
#   HEALTHNET_QUICKSTART_PORT  the port (default 8101); the node listens on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
HOME_DIR=${HEALTHNET_QUICKSTART_HOME:-var/europe}
PORT=${HEALTHNET_QUICKSTART_PORT:-8101}
URL="http://127.0.0.1:$PORT"
HN=.venv/bin/healthnet
if [ ! -f "$HOME_DIR/healthnet.toml" ]; then
  $HN init "$HOME_DIR" --name "Radboud University Nijmegen Medical Centre" --region europe \
    --url "$URL"
  $HN import "$HOME_DIR" deploy/sample/europe-members.csv
  $HN import "$HOME_DIR" deploy/sample/europe-events.csv
  echo "admin token (shown once; keep it; write with it: curl -H 'Authorization: Bearer TOKEN' $URL/admin/members ...):"
  $HN token create "$HOME_DIR" --role admin --label quickstart
else
  # The node keeps the URL it was made with (its pages and envelopes link to it).
  URL=$(.venv/bin/python -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["url"])' "$HOME_DIR/healthnet.toml")
  PORT=$(.venv/bin/python -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 80)' "$URL")
  echo "reusing the node in $HOME_DIR, made for $URL (delete that folder to start over)"
fi
echo "serving on $URL  (directory: $URL/  events: $URL/e  API docs: $URL/docs; Ctrl-C stops)"
exec $HN serve "$HOME_DIR" --host 127.0.0.1 --port "$PORT"
