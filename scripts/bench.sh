#!/usr/bin/env bash
# The benchmark: builds in Release, then runs the scenarios against the service and the bare
# baseline in the same run. Arguments go to the bench: scenario names (hold fanout storm churn
# loss, all by default; cluster only when named), --smoke for a run of seconds, --out DIR,
# --hold N --rooms R (held streams), --watchers N,N (fan-out room sizes).
# Full runs write bench/results/{results.md,results.json,fanout.svg}; cluster writes
# bench/results/{cluster.md,cluster.json} (redis-server, silos and client-mode front ends).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release Presence.sln -v quiet -nologo
exec dotnet bench/Presence.Bench/bin/Release/net10.0/Presence.Bench.dll "$@"
