# mean held-out success over seeds, with a 95% interval from a bootstrap over seeds, then episodes within each drawn seed
# (as `stepagent table` resamples); each argument is a reading directory holding test-*.json (50-task chunks)
import glob, json, random, sys
seeds = []
for d in sys.argv[1:]:
    k = n = 0
    for f in glob.glob(d + '/test-*.json'):
        j = json.load(open(f)); k += round(j['successRate'] * j['episodes']); n += j['episodes']
    seeds.append([1] * k + [0] * (n - k))
    print(f"{d}: {k}/{n} = {100 * k / n:.1f}%")
rng = random.Random(0)
means = []
for _ in range(10000):
    drawn = [rng.choice(seeds) for _ in seeds]
    means.append(sum(sum(rng.choice(xs) for _ in xs) / len(xs) for xs in drawn) / len(drawn))
means.sort()
mean = sum(sum(xs) / len(xs) for xs in seeds) / len(seeds)
print(f"mean of {len(seeds)} seeds {100 * mean:.1f}% [{100 * means[249]:.1f}, {100 * means[9749]:.1f}] (bootstrap over seeds and episodes, 10,000)")
