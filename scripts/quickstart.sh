#!/usr/bin/env bash
# Set up the environment and run one regional node (Europe) on http://127.0.0.1:8101,
# seeded with sample members. Re-running reuses the node in ./var/europe.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
HOME_DIR=${HEALTHNET_QUICKSTART_HOME:-var/europe}
HN=.venv/bin/healthnet
if [ ! -f "$HOME_DIR/healthnet.toml" ]; then
  $HN init "$HOME_DIR" --name "Radboud University Nijmegen Medical Centre" --region europe \
    --url http://127.0.0.1:8101
  $HN import "$HOME_DIR" deploy/sample/europe-members.csv
  echo "admin token (shown once; keep it):"
  $HN token create "$HOME_DIR" --role admin --label quickstart
fi
echo "serving on http://127.0.0.1:8101  (API docs: http://127.0.0.1:8101/docs; Ctrl-C stops)"
exec $HN serve "$HOME_DIR"
