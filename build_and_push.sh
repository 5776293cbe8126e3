#!/usr/bin/env bash
# Build the serving image for linux/amd64 and push it to Amazon ECR.
#
#   ./build_and_push.sh [--gpu] [--dry-run] [--region R] [--account ID] [--engine docker|buildah] IMAGE [TAG]
#
# Tag:     TAG, else the git revision (12 hex digits; -gpu appended with --gpu); a work tree
#          with uncommitted changes needs an explicit TAG. Tags are immutable: ECR refuses a
#          second push of the same tag, so a deployed tag always names the same image.
# Account: --account, else AWS_ACCOUNT_ID, else `aws sts get-caller-identity`.
# Region:  --region, else AWS_REGION / AWS_DEFAULT_REGION, else `aws configure get region`.
# Engine:  docker when a Docker engine answers, else buildah (daemonless).
# A new repository gets immutable tags and a vulnerability scan of every pushed image.
# --dry-run prints every command instead of running it (no AWS call, no build).
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

gpu=false dry_run=false region="" account="" engine=""
# The CUDA 12 + cuDNN 9 runtime that onnxruntime-node's CUDA provider needs.
gpu_base="nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) gpu=true ;;
    --dry-run) dry_run=true ;;
    --region) region="${2:?--region needs a value}"; shift ;;
    --account) account="${2:?--account needs a value}"; shift ;;
    --engine) engine="${2:?--engine needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
if [ ${#positional[@]} -lt 1 ] || [ ${#positional[@]} -gt 2 ]; then usage >&2; exit 2; fi
image="${positional[0]}"
# SageMaker's ml.* CPU and GPU instances are x86-64; onnxruntime-node's and sharp's binaries are chosen for it.
platform=linux/amd64

cd "$(dirname "$0")"
if [ ${#positional[@]} -eq 2 ]; then
  tag="${positional[1]}"
else
  revision=$(git rev-parse --short=12 HEAD 2>/dev/null) || { echo "not a git work tree: pass a TAG" >&2; exit 2; }
  [ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "uncommitted changes: commit them or pass a TAG" >&2; exit 2; }
  tag="${revision}"
  if $gpu; then tag="${revision}-gpu"; fi
fi

# Print a command (shell-quoted, so it can be pasted) and run it unless this is a dry run.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  $dry_run || "$@"
}

# A value that needs AWS: a placeholder in a dry run, the real answer otherwise.
ask_aws() {
  local placeholder="$1"; shift
  if $dry_run; then
    { printf '+'; printf ' %q' "$@"; printf '\n'; } >&2
    echo "$placeholder"
  else
    "$@"
  fi
}

region="${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}"
if [ -z "$region" ]; then
  region=$(ask_aws "us-east-1" aws configure get region || true)
fi
[ -n "$region" ] || { echo "no AWS region: pass --region or set AWS_REGION" >&2; exit 1; }
account="${account:-${AWS_ACCOUNT_ID:-}}"
if [ -z "$account" ]; then
  account=$(ask_aws "123456789012" aws sts get-caller-identity --query Account --output text)
fi

if [ -z "$engine" ]; then
  if docker info >/dev/null 2>&1; then engine=docker; elif command -v buildah >/dev/null 2>&1; then engine=buildah; else engine=docker; fi
fi
case "$engine" in docker|buildah) ;; *) echo "--engine must be docker or buildah" >&2; exit 2 ;; esac

registry="${account}.dkr.ecr.${region}.amazonaws.com"
fullname="${registry}/${image}:${tag}"
build_args=()
if $gpu; then
  build_args=(--build-arg "RUNTIME_BASE=${gpu_base}" --build-arg ORT_NODE_INSTALL=cuda12)
fi

echo "# ${fullname} (engine: ${engine}, gpu: ${gpu}, platform: ${platform})"

# Create the repository if it does not exist yet: tags can't be overwritten, every push is scanned.
create=(aws ecr create-repository --region "$region" --repository-name "$image"
  --image-tag-mutability IMMUTABLE --image-scanning-configuration scanOnPush=true)
if $dry_run; then
  run aws ecr describe-repositories --region "$region" --repository-names "$image"
  run "${create[@]}"
elif ! aws ecr describe-repositories --region "$region" --repository-names "$image" >/dev/null 2>&1; then
  run "${create[@]}" >/dev/null
fi

if $dry_run; then
  printf '+ aws ecr get-login-password --region %q | %q login --username AWS --password-stdin %q\n' "$region" "$engine" "$registry"
else
  aws ecr get-login-password --region "$region" | "$engine" login --username AWS --password-stdin "$registry"
fi

if [ "$engine" = buildah ]; then
  run buildah bud --pull --platform "$platform" "${build_args[@]}" -t "${image}:${tag}" .
  run buildah tag "${image}:${tag}" "$fullname"
  run buildah push "$fullname"
else
  run docker build --platform "$platform" "${build_args[@]}" -t "${image}:${tag}" .
  run docker tag "${image}:${tag}" "$fullname"
  run docker push "$fullname"
fi
echo "$fullname"
