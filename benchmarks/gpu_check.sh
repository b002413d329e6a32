#!/usr/bin/env bash
# Issue 12's GPU measurements in one call on a lent CUDA machine (about 6 minutes on an H100/H200), each step with
# its own time limit so one failure does not hide the others. Each step's tail is printed; the whole output goes to
# $OUT/gpu_check.log (one file: the device tool returns at most 8; default OUT=/tmp/gpu-check).
#
# Prepared on the developer machine (nothing can be downloaded on the GPU machine):
#   mkdir -p .gpu/before && git archive 4b22fc8 trackers | tar -x -C .gpu/before   # the H100 profile's commit
#   pip download --no-deps ... -d .whl  the packages the GPU image lacks (trackeval, motmetrics, lap, dask, ...)
# Run there from the repository root:  bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
BEFORE=${BEFORE:-.gpu/before}
export PYTHONUNBUFFERED=1
PY=python3

step() {  # step NAME LIMIT_S CMD...: run CMD with a time limit, append its output to the log, print its tail
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS log
    log=$(mktemp)
    timeout "$limit" "$@" >"$log" 2>&1
    local rc=$?
    echo "=== $name: rc=$rc wall=$((SECONDS - t0))s"
    tail -n "${TAIL:-25}" "$log"
    { echo "=== $name: rc=$rc wall=$((SECONDS - t0))s"; cat "$log"; } >>"$OUT/gpu_check.log"
    rm -f "$log"
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,utilization.gpu --format=csv
    nproc
    $PY -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$OUT/gpu_check.log"

if [ -d .whl ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        >>"$OUT/gpu_check.log" 2>&1 || { echo "wheel install failed"; tail "$OUT/gpu_check.log"; }
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD

# 1. The CUDA-only tests (skipped on machines without a GPU) and the Re-ID tests around them.
TAIL=6 step tests 90 $PY -m pytest -q -p no:cacheprovider tests/test_reid_train_loop.py tests/test_reid_inference.py

# 2. Inference: today's embedding path against 4b22fc8's model, same run, same card; where the time goes.
TAIL=45 step infer 150 $PY benchmarks/reid_gpu.py --before "$BEFORE" --check --profile

# 3. Training loop against a bare bf16 step (paper scale, batch 256), today and at 4b22fc8.
args=(--device cuda --paper --crops 3072 --p 64 --k 4 --epochs 2 --repeats 2 --threads 16)
TAIL=2 step train_now 90 $PY benchmarks/train_throughput.py "${args[@]}"
TAIL=2 step train_before 120 env PYTHONPATH="$BEFORE" $PY benchmarks/train_throughput.py "${args[@]}"

# 4. Same seed => same weights on CUDA? (two tiny trainings compared bit for bit)
TAIL=3 step determinism 45 $PY - <<'EOF'
import sys
sys.path.insert(0, "tests")
import torch
from test_reid_train_loop import _cuda_train
(_, a, _), (_, b, _) = _cuda_train(), _cuda_train()
diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
print(f"CUDA training twice, same seed: bit-identical={all(torch.equal(a[k], b[k]) for k in a)} max|d|={diff:.3e}")
EOF

# 5. End to end: the synth suite cold on CUDA (the team's H100: 97 s), then paper-scale `bench train` (4 epochs).
TAIL=20 step bench_run 180 $PY -m bench.cli run --suite synth --device cuda --run-id gpu-cold
TAIL=6 step bench_train 90 $PY -m bench.cli train --model finetrack --suite synth --epochs 4 --device cuda \
    --set reid.finetrack.model.layout=resnet50 --set reid.finetrack.model.width=1.0 --set 'reid.finetrack.model.input_size=[256,128]'

# 6. torch.compile of the fused model (compile time printed apart).
TAIL=14 step compile 120 $PY benchmarks/reid_gpu.py --compile --iters 20
