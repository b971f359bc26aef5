#!/bin/bash
# waits for the SFT's last checkpoint, stops the run before its evaluate stage, then reads it: the preregistered
# trained-state accuracy (search-accuracy.ts on da5f0a9's code, one thread) and the held-out test success (main's eval)
export PATH=/work/main/node_modules/.bin:$PATH
R=/work/runs/widenocopy/house-sft-2400-wide-nocopy__1__20261207T184205Z
while [ ! -f $R/checkpoints/unit-0024/manifest.sha256 ]; do sleep 5; done
sleep 5
pkill -f "bin/stepagent.ts run"
echo "$(date +%T) stopped at unit-0024" >> /work/runs/widenocopy/reader.log
mkdir -p /work/runs/widenocopy/reading
(cd /work/wt-exp2 && node docs/paper-table-2026-12-07-nineteenth/house-sft-nocopy/search-accuracy.ts $R/checkpoints/unit-0024 100 100 > /work/runs/widenocopy/reading/search-nocopy-wide.txt 2> /work/runs/widenocopy/reading/search.err; echo "$(date +%T) search-accuracy done ($?)" >> /work/runs/widenocopy/reader.log) &
(cd /work/main && for off in 0 50 100 150; do node bin/stepagent.ts eval --env house --checkpoint $R/checkpoints/unit-0024 --n 50 --offset $off --json --episodes /work/runs/widenocopy/reading/test-episodes-$off.arrows > /work/runs/widenocopy/reading/test-$off.json 2> /work/runs/widenocopy/reading/test-$off.err; echo "$(date +%T) test eval $off done ($?)" >> /work/runs/widenocopy/reader.log; done) &
wait
