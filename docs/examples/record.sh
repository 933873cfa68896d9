#!/usr/bin/env bash
# Records the example traces: docs/examples/<name>.<profile>.trace.jsonl.
#
#   docs/examples/record.sh PYTHON [PYTHON...]
#
# Each PYTHON is an interpreter with Flask-Caching 2.5.x, 2.4.x or Flask-Cache 0.13.x (the
# profile is read from the trace). An interpreter that also has redis and fakeredis
# records the RedisCache example (redis_shared.py) instead of the SimpleCache ones. The recorder is used from sim/recorder (no install
# needed). Every example is recorded twice and the two traces must be byte-identical.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recorder=$(cd "$here/../../sim/recorder" && pwd)
[ $# -gt 0 ] || { echo "usage: $0 PYTHON [PYTHON...]" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Recorded from the repository's root, as CI re-records them: each event's call site names
# the script as `docs/examples/<name>.py`.
cd "$here/../.."
for python in "$@"; do
  scripts="student.py blueprint_api.py services.py"
  # The RedisCache example needs redis and fakeredis installed beside the library.
  if "$python" -c "import fakeredis, redis" 2>/dev/null; then scripts="redis_shared.py"; fi
  for script in $scripts; do
    name=${script%.py}
    for run in 1 2; do
      PYTHONPATH="$recorder" "$python" -m flaskcache_recorder -o "$tmp/$name.$run.jsonl" "docs/examples/$script" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" || {
        echo "$python $script failed:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
    done
    cmp "$tmp/$name.1.jsonl" "$tmp/$name.2.jsonl" || { echo "$script: recording is not deterministic" >&2; exit 1; }
    profile=$("$python" -c 'import json, sys; f = open(sys.argv[1]); f.readline(); print(json.loads(f.readline())["config"]["profile"])' "$tmp/$name.1.jsonl")
    mv "$tmp/$name.1.jsonl" "$here/$name.$profile.trace.jsonl"
    echo "$name.$profile.trace.jsonl ($(wc -l <"$here/$name.$profile.trace.jsonl") lines)"
  done
done
