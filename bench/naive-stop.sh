#!/usr/bin/env bash
# The baseline the benchmark compares the daemon with: what a user would script instead
# of running a controller. It reads the same manifests (jobId/versionId/desiredState
# lines, one object per YAML document) and sends one stop call per desired-Stopped
# entry, sequentially, with no observation, no rate limit and no retry.
# Usage: OS_TOKEN=... naive-stop.sh MANIFEST_DIR ENDPOINT PROJECT_ID
# Prints the HTTP status of each call, one per line.
set -euo pipefail
dir=$1 endpoint=$2 project=$3

find "$dir" -name '*.yaml' -type f -print0 | sort -z | xargs -0 cat |
  awk '
    /^---/ { job = ""; version = ""; desired = ""; next }
    $1 == "jobId:" { job = $2 }
    $1 == "versionId:" { version = $2 }
    $1 == "desiredState:" { desired = $2 }
    job != "" && version != "" && desired != "" {
      if (desired == "Stopped") print job, version
      job = ""; version = ""; desired = ""
    }' |
  while read -r job version; do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "X-Auth-Token: ${OS_TOKEN}" \
      "${endpoint}/v1/${project}/training-jobs/${job}/versions/${version}/stop" || echo "error"
  done
