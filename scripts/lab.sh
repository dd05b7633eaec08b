#!/usr/bin/env bash
# Starts JupyterLab (`make lab`): arguments go to `jupyter lab`; $JUPYTER names the executable.
# As root (containers, these machines) Jupyter refuses to start without --allow-root: it is added for
# uid 0 only, so nothing changes for other users. Jupyter prints the address to open, token included.
set -euo pipefail
allow_root=()
if [ "$(id -u)" = 0 ]; then
  allow_root=(--allow-root)
fi
echo "Starting JupyterLab: open the http://127.0.0.1:<port>/lab?token=<token> address printed below; Ctrl-C stops it." >&2
exec env HF_HUB_OFFLINE=1 "${JUPYTER:-jupyter}" lab "${allow_root[@]}" "$@"
