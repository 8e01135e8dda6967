#!/usr/bin/env bash
# Installs the Debian packages the build needs, when they are missing.
# CUDA (nvcc, NCCL) is optional: it is used from /usr/local/cuda when present.
# libucx-dev is the UCX data plane (docs/distributed.md, "Two planes"): the
# library MPI and NCCL use to move bytes over shared memory, CMA, TCP, verbs.
set -euo pipefail
packages=(cmake g++ make libcaf-dev catch2 libcereal-dev libcli11-dev libucx-dev ucx-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
