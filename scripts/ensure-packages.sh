#!/usr/bin/env bash
# Installs, from Debian's packages, each of the named commands that is missing (each command's
# package has its name: chromium, redis-server). Used by test.sh and cluster.sh.
set -euo pipefail
missing=()
for command in "$@"; do
  command -v "$command" >/dev/null || missing+=("$command")
done
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} from Debian's packages..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
