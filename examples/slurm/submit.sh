#!/bin/bash
# A night over N GPU nodes: one sbatch for the array, one for the merge that waits for it.
#   examples/slurm/submit.sh 16 prompts.jsonl --model /shared/models/model.gguf
set -euo pipefail
here=$(dirname "$0")
tasks=${1:?usage: submit.sh TASKS prompts.jsonl [batch run flags...]}
shift
array=$(sbatch --parsable --array=1-"$tasks" "$here/batch-array.sbatch" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/batch-merge.sbatch" answers.jsonl)
echo "array job $array ($tasks tasks), then merge job $merge: squeue -j $array,$merge"
