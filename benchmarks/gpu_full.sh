#!/usr/bin/env bash
# The full-size benchmarks on a GPU machine, in one run of at most $BUDGET seconds (default 480; one H200: about 6 minutes).
#
#   bash benchmarks/gpu_full.sh OUT [MNIST]      (in the repository root)
#
# OUT: folder for the figures: log.txt (everything printed), speed_*.json, sample_quality.json and
# conditional_samples.png. MNIST: folder with MNIST's four IDX files, plain or .gz (default: data/mnist,
# shared/data/mnist or ../shared/data/mnist). Needs python3 with torch and torchvision ($PYTHON
# overrides); matplotlib and IPython are optional. The models go to $MODELS (default /tmp/a12_models).
#
# Steps, most important first; each is a process of its own under a time limit that leaves time for
# the rest, so one failing or hanging step costs only itself:
#   1. fast path, 20 epochs, unconditional: bf16 + torch.compile + CUDA graphs (if that fails: without compile)
#   2. sample quality: classifier, conditional model (20 epochs, float32 + CUDA graphs), samples
#   3. the notebook's paths (score sheet, notebook cell) and the fast path without extras: 1 epoch each;
#      1,000-step sampling of 10 images, the notebook's sampler and the fast one
#   4. what each speed-up adds: 2 epochs each of graphs, bf16 + graphs, bf16 + compile
set -u -o pipefail
out=${1:?usage: bash benchmarks/gpu_full.sh OUT [MNIST]}
mnist=(); [ $# -ge 2 ] && mnist=(--mnist "$2")
py=${PYTHON:-python3}
models=${MODELS:-/tmp/a12_models}
mkdir -p "$out"
log="$out/log.txt"
budget=${BUDGET:-480}
deadline=$(( $(date +%s) + budget ))

# step LIMIT_S NAME ARGS...: run a benchmark under min(LIMIT_S, time left - 10 s); its status
step() {
    local limit=$1 name=$2; shift 2
    local left=$(( deadline - $(date +%s) - 10 ))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 30 ]; then echo "== $name: skipped, $left s left" | tee -a "$log"; return 99; fi
    echo "== $name (at most $limit s): $*" | tee -a "$log"
    timeout -k 10 "$limit" "$py" -m "$@" 2>&1 | tee -a "$log"
    local status=$?
    echo "== $name: exit status $status" | tee -a "$log"
    return $status
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  "$py" -c "import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__)"
} 2>&1 | tee "$log"

rm -f "$models/unconditional.pt" "$models/conditional.pt"
fast=bf16+compile+graphs
step 330 "1. fast path, 20 epochs" benchmarks.train_speed --size full "${mnist[@]}" --paths "fast:$fast" \
    --sample-steps 0 --save-model "$models/unconditional.pt" --json "$out/speed_fast.json"
if [ ! -f "$models/unconditional.pt" ]; then
    fast=bf16+graphs
    step 150 "1b. fast path without compile, 20 epochs" benchmarks.train_speed --size full "${mnist[@]}" \
        --paths "fast:$fast" --sample-steps 0 --save-model "$models/unconditional.pt" --json "$out/speed_fast_b.json"
fi
quality=graphs; [ -f "$models/unconditional.pt" ] || quality=bf16
step 200 "2. sample quality" benchmarks.sample_quality --size full "${mnist[@]}" --fast "$quality" \
    --models "$models" --out "$out"
step 150 "3. the notebook's paths" benchmarks.train_speed --size full "${mnist[@]}" \
    --paths score-sheet,notebook,fast:plain --fast-epochs 1 --json "$out/speed_notebook.json"
step 120 "4. each speed-up" benchmarks.train_speed --size full "${mnist[@]}" \
    --paths fast:graphs,fast:bf16+graphs,fast:bf16+compile --fast-epochs 2 --sample-steps 0 --json "$out/speed_parts.json"

echo "== summary ($(( budget - deadline + $(date +%s) )) s)" | tee -a "$log"
grep -E "^(path |score-sheet |notebook |fast[:a-z0-9+=-]* +[0-9]|fast[^ ]* / |fast.*validation loss over|1,000-step|classifier:|conditional samples|label |right |Fréchet|== .*exit status)" "$log"
