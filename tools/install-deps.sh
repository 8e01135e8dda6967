#!/usr/bin/env bash
# Installs the Debian packages the build needs, when they are missing.
# CUDA (nvcc, NCCL) is optional: it is used from /usr/local/cuda when present.
set -euo pipefail
# libcaf-dev brings libcaf-openssl0.17 (TLS between nodes); libssl-dev is
# OpenSSL's headers, for the certificate checks and kvs-launch's authority.
packages=(cmake g++ make libcaf-dev libssl-dev catch2 libcereal-dev libcli11-dev libspdlog-dev
          nlohmann-json3-dev zlib1g-dev)
# tools/fuzz.sh (libFuzzer, ASan, UBSan with clang 14): KVS_FUZZ_DEPS=1.
if [ "${KVS_FUZZ_DEPS:-0}" = 1 ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi
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
