#!/usr/bin/env bash
# Installs the official openai SDKs the compatibility tests drive (tests/sdk.rs), and the
# OpenAPI validator that checks /openapi.json (tests/proxy_wire.rs): the Python packages
# into target/sdk/venv, the npm package into tests/sdk/node/node_modules, all at the
# versions pinned beside their scripts. Needs python3 (with venv) and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv target/sdk/venv
target/sdk/venv/bin/pip install --quiet --disable-pip-version-check \
  -r tests/sdk/python/requirements.txt
(cd tests/sdk/node && npm ci --no-audit --no-fund --loglevel=error)
echo "openai SDKs installed: $(target/sdk/venv/bin/python -c 'import openai; print("python", openai.__version__)'), npm $(node -p 'require("./tests/sdk/node/package.json").dependencies.openai')"
