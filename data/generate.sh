#!/usr/bin/env bash
# Regenerates the shipped expert datasets byte for byte (the output depends only on env, split, n and seed).
# Sizes: enough expert steps for the small model to learn from, a few MB each (shop and house observations are long).
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install stepagent data generate --env shop  --split train --n 1000 --seed 0 --out data/shop-train.arrows
npx --no-install stepagent data generate --env house --split train --n 1000 --seed 0 --out data/house-train.arrows
npx --no-install stepagent data generate --env qa    --split train --n 2000 --seed 0 --out data/qa-train.arrows
