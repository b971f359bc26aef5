#!/bin/bash
# rounds 5-8 of house DAgger for seeds 1-3, two stepagent runs at a time
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/wt-exp
running() { pgrep -f "stepagent.ts run --threads 1 --out /work/runs/dagger8" | wc -l; }
for s in 1 2 3; do
  while [ "$(running)" -ge 2 ]; do sleep 15; done
  echo "$(date +%T) start seed$s"
  nohup node bin/stepagent.ts run --threads 1 --out /work/runs/dagger8 /work/runs/dagger8/pipelines/house-dagger8-seed$s.ts > /work/runs/dagger8/seed$s.log 2>&1 &
  sleep 30
done
wait
echo "$(date +%T) all done"
