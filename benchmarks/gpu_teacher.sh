#!/bin/bash
# Where the curse goes, at full size on a GPU (docs/approx.md, "Exponents against k"): the radial-bump
# teacher at d = 32 (widths 2..256: 69 to 8,705 parameters) and at d = k (widths 4..512), two decades
# of parameters, trained by the matrix-free Gauss-Newton trainer, 3 draws x 2 seeds. Each (d, k) writes its own rows
# and fit table under $OUT as it finishes, so a run cut short keeps what it did.
#   OUT=/tmp/teacher bash benchmarks/gpu_teacher.sh [seconds per run, default 150]
export OUT=${OUT:-/tmp/dimcurse-teacher}; mkdir -p "$OUT"
FILES=$(mktemp -d)  # rows and fits; packed into $OUT/teacher.tgz at the end
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
LIMIT=${1:-120}
TIMEFORMAT="wall %R s"
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
run() {  # run D K WIDTHS
  echo "== d = $1, k = $2"
  time timeout $LIMIT python3 -c "from dimcurse.cli import main; main()" approx --target teacher --dims $1 \
    --teacher-k $2 --widths $3 --optimizer gn --seeds 2 --device cuda --quiet \
    --out $FILES/rows-d$1-k$2.csv --summary-out $FILES/fit-d$1-k$2.csv | tail -4
  python3 -c "import pandas as pd; f = pd.read_csv('$FILES/fit-d$1-k$2.csv'); print(f[['dim', 'teacher_k', 'alpha', 'alpha_lo', 'alpha_hi', 'alpha_theory', 'used_params']].to_string(index=False))" 2>/dev/null
}
WIDE=2,4,8,16,32,64,128,256
NARROW=4,8,16,32,64,128,256,512
for k in 2 4 6; do run 32 $k $WIDE; done
run 2 2 $NARROW
run 32 3 $WIDE
tar -czf $OUT/teacher.tgz -C $FILES .
