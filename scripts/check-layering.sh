#!/usr/bin/env bash
# Fails, naming each offending file:line, when an #include goes against the dependency
# direction of docs/architecture.md ("Dependency direction"):
#   - controller wings: base <- cloud <- auth <- core <- runtime <- cli <- cmd; a wing may
#     include itself and any wing to its left;
#   - controller/election/ (leader election on etcd) stands beside the chain: it includes only
#     itself and base, and only runtime, cli and cmd include it;
#   - sim/ and cmd/modelarts-sim/ include nothing from controller/ but controller/base/;
#   - api/ includes nothing from controller/;
#   - nothing outside cmd/ includes cmd/, and nothing in api/ or controller/ includes sim/.
# Looks at every C++ file git knows of (tracked or not ignored), quoted includes only.
#   scripts/check-layering.sh
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' | sort -u)
if ((${#files[@]} == 0)); then
  echo "check-layering: no C++ files found" >&2
  exit 2
fi

# grep prints file:line:text for each quoted include; awk applies the rules to each.
violations=$(
  grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' -- "${files[@]}" |
    awk '
    BEGIN {
      n = split("base cloud auth core runtime cli", wings, " ")
      for (i = 1; i <= n; ++i) rank[wings[i]] = i
      rank["cmd"] = n + 1
    }
    {
      # file:line:text; file names have no colon here.
      first = index($0, ":"); file = substr($0, 1, first - 1)
      rest = substr($0, first + 1); second = index(rest, ":")
      line = substr(rest, 1, second - 1); text = substr(rest, second + 1)
      match(text, /"[^"]*"/)
      target = substr(text, RSTART + 1, RLENGTH - 2)
      where = file ":" line ": #include \"" target "\": "

      from = ""
      if (file ~ /^controller\/[^\/]+\//) { split(file, p, "/"); from = p[2] }
      else if (file ~ /^cmd\//) from = "cmd"

      if (target ~ /^controller\//) {
        split(target, q, "/"); to = q[2]
        if (from == "election" && to != "election" && to != "base") {
          print where "controller/election/ may include only itself and controller/base/"
        } else if (to == "election" && from != "" && from != "election" &&
                   (!(from in rank) || rank[from] < rank["runtime"])) {
          print where "only runtime, cli and cmd include controller/election/"
        } else if (from != "" && (to == "election" || from == "election")) {
          # allowed above
        } else if (file ~ /^api\//) {
          print where "api/ includes nothing from controller/"
        } else if (file ~ /^(sim|cmd\/modelarts-sim)\// && to != "base") {
          print where "sim/ and cmd/modelarts-sim/ may include only controller/base/ from controller/"
        } else if (from != "" && (to in rank) && (from in rank) && rank[to] > rank[from]) {
          print where from " may not include " to " (base <- cloud <- auth <- core <- runtime <- cli <- cmd)"
        } else if (from != "" && !(to in rank)) {
          print where "controller/" to "/ is not a wing of docs/architecture.md"
        }
      }
      if (target ~ /^cmd\// && file !~ /^cmd\//) {
        print where "nothing outside cmd/ includes cmd/"
      }
      if (target ~ /^sim\// && file ~ /^(api|controller)\//) {
        print where "api/ and controller/ do not include the simulator"
      }
    }'
)

if [[ -n $violations ]]; then
  printf '%s\n' "$violations" >&2
  printf 'check-layering: %d include(s) against the dependency direction (docs/architecture.md)\n' \
    "$(printf '%s\n' "$violations" | wc -l)" >&2
  exit 1
fi
echo "check-layering: ${#files[@]} files follow the dependency direction" >&2
