#!/usr/bin/env bash
# Installs, from Debian's packages, each of the named commands that is missing. An argument is a
# command whose package has its name (chromium, redis-server), or command:package (ip:iproute2).
# Used by test.sh and cluster.sh.
set -euo pipefail
missing=()
for argument in "$@"; do
  command -v "${argument%%:*}" >/dev/null || missing+=("${argument#*:}")
done
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} from Debian's packages..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
