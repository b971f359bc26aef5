#!/bin/bash
# copies the DAgger experiment's evaluated runs' config and summary, the pipelines and the table into the docs
set -e
export PATH=/work/main/node_modules/.bin:$PATH
out=/work/main/docs/paper-table-2026-12-07-seventeenth/house-dagger
mkdir -p $out/runs $out/pipelines
cp /work/runs/dagger/pipelines/*.ts $out/pipelines/
cp /work/runs/dagger/queue.sh $out/
dirs=""
for d in /work/runs/dagger/house-dagger*__*; do
  [ -f $d/eval/summary.json ] || continue
  n=$(basename $d)
  mkdir -p $out/runs/$n
  cp $d/config.json $d/eval/summary.json $out/runs/$n/
  grep '"stage":"dagger"' $d/metrics.jsonl > $out/runs/$n/dagger-metrics.jsonl || true
  dirs="$dirs $d"
done
cd /work/main
node bin/stepagent.ts table --pair dagger:sft-more-dagger --pair dagger:sft-2400 --pair sft-more-dagger:sft-2400 /work/runs/house2400/house-sft-2400__1__* $dirs > $out/table.md
node bin/stepagent.ts table --json --pair dagger:sft-more-dagger --pair dagger:sft-2400 --pair sft-more-dagger:sft-2400 /work/runs/house2400/house-sft-2400__1__* $dirs > $out/table.json
for d in /work/runs/house2400/house-sft-2400__1__* $dirs; do echo "$(basename $d) $(node docs/paper-table-2026-12-07-seventeenth/house-dagger/scripts/house-fail.ts $d/eval/episodes.arrows) $(node docs/paper-table-2026-12-07-seventeenth/house-dagger/scripts/house-recover.ts $d/eval/episodes.arrows)"; done > $out/failures.txt
cat $out/table.md
cat $out/failures.txt
