#!/bin/bash
# The GPU checks in one go (docs/reliability.md): the CUDA tests, the CLI on cuda against cpu, and the
# GPU benchmark figures of docs/benchmarks.md. Run from the repository root on a machine with a
# GPU:  OUT=/tmp/gpu bash benchmarks/gpu_check.sh   (the log goes to $OUT/log). Wheels in .whl/
# (mnist1d, for the MLP benchmark) are installed first when present.
export OUT=${OUT:-/tmp/dimcurse-gpu}; mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
TIMEFORMAT="wall %R s"
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD:/tmp/site
fi
python3 -c "import torch, typer, numpy, pandas, rich; print('torch', torch.__version__, 'typer', typer.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__)"
echo "== CUDA tests"; timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py -rs 2>&1 | tail -25
echo "== CLI on cuda vs cpu (default distance job)"
for dev in cuda cpu; do echo "$dev:"; time timeout 120 python3 -c "from dimcurse.cli import main; main()" distance --dims 2,10,100,1000 --device $dev --quiet --out $OUT/distance-$dev.csv; done
python3 - <<'PY'
import os, pandas as pd, numpy as np
a, b = (pd.read_csv(os.path.join(os.environ["OUT"], f"distance-{d}.csv")) for d in ("cuda", "cpu"))
for c in ("nn_dist", "far_dist", "relative_contrast", "mean_dist", "dist_cv", "twonn_id", "hubness"):
    print(c, "max rel diff cuda vs cpu", float(np.max(np.abs(a[c] / b[c] - 1))))
PY
echo "== bench_distance"; timeout 200 python3 benchmarks/bench_distance.py --device cuda --points 1000000 --queries 4096 --dims 2,10,100,1000 --repeats 2 --chunks 1048576,16777216,134217728
echo "== bench_overparam mlp"; timeout 90 python3 benchmarks/bench_overparam.py --part mlp --device cuda --epochs 20
echo "== bench_approx"; timeout 200 python3 benchmarks/bench_approx.py --device cuda --part speed
echo "== approx default teacher run on cuda"; time timeout 200 python3 -c "from dimcurse.cli import main; main()" approx --target teacher --dims 32 --teacher-k 2 --device cuda --quiet --out $OUT/approx-cuda.csv
echo "== bench_cnn"; timeout 200 python3 benchmarks/bench_cnn.py --device cuda --epochs 3 --seeds 3
