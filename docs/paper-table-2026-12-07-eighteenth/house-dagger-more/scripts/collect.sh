#!/bin/bash
# copies the rounds 5-8 runs' config, summary and round metrics, their pipelines and the table into the docs
set -e
export PATH=/work/main/node_modules/.bin:$PATH
out=/work/main/docs/paper-table-2026-12-07-eighteenth/house-dagger-more
scripts=/work/main/docs/paper-table-2026-12-07-seventeenth/house-dagger/scripts
mkdir -p $out/runs $out/pipelines
cp /work/runs/dagger8/pipelines/*.ts /work/runs/dagger8/queue.sh $out/pipelines/
dirs=""
for d in /work/runs/dagger8/house-dagger-more__*; do
  [ -f $d/eval/summary.json ] || continue
  n=$(basename $d)
  mkdir -p $out/runs/$n
  cp $d/config.json $d/eval/summary.json $out/runs/$n/
  grep '"stage":"dagger"' $d/metrics.jsonl > $out/runs/$n/dagger-metrics.jsonl || true
  dirs="$dirs $d"
done
earlier="/work/runs/dagger/house-dagger__* /work/runs/dagger/house-dagger-control__*"
cd /work/main
pairs="--pair dagger-8:dagger" # the preregistered reading (the control had half the steps: no fair pair)
node bin/stepagent.ts table $pairs $earlier $dirs > $out/table.md
node bin/stepagent.ts table --json $pairs $earlier $dirs > $out/table.json
for d in $dirs; do echo "$(basename $d) $(node $scripts/house-fail.ts $d/eval/episodes.arrows) $(node $scripts/house-recover.ts $d/eval/episodes.arrows)"; done > $out/failures.txt
cat $out/table.md
cat $out/failures.txt
