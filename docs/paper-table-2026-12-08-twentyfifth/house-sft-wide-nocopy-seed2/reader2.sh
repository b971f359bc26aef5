#!/bin/bash
# seed S's reading: waits for the SFT's last checkpoint, stops the run before its evaluate stage, then reads it as seed 1 was
export PATH=/work/main/node_modules/.bin:$PATH
S=${1:-2}
OUT=/work/runs/widenocopy/reading$S
mkdir -p $OUT
while true; do R=$(ls -d /work/runs/widenocopy/house-sft-2400-wide-nocopy__${S}__* 2>/dev/null | head -1); [ -n "$R" ] && [ -f $R/checkpoints/unit-0024/manifest.sha256 ] && break; sleep 10; done
sleep 5
pkill -f "bin/stepagent.ts (run|resume)"
echo "$(date +%T) stopped at unit-0024 ($R)" >> $OUT/reader.log
(cd /work/wt-exp2 && node docs/paper-table-2026-12-07-nineteenth/house-sft-nocopy/search-accuracy.ts $R/checkpoints/unit-0024 100 100 > $OUT/search-nocopy-wide.txt 2> $OUT/search.err; echo "$(date +%T) search-accuracy done ($?)" >> $OUT/reader.log) &
(cd /work/main && for off in 0 50 100 150; do node bin/stepagent.ts eval --env house --checkpoint $R/checkpoints/unit-0024 --n 50 --offset $off --json --episodes $OUT/test-episodes-$off.arrows > $OUT/test-$off.json 2> $OUT/test-$off.err; echo "$(date +%T) test eval $off done ($?)" >> $OUT/reader.log; done; node bin/stepagent.ts eval --env house --checkpoint $R/checkpoints/unit-0024 --split train --n 100 --json --episodes $OUT/train-episodes.arrows > $OUT/train.json 2> $OUT/train.err; echo "$(date +%T) train eval done ($?)" >> $OUT/reader.log) &
wait
echo "$(date +%T) all done" >> $OUT/reader.log
