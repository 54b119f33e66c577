#!/usr/bin/env bash
# make fuzz: every fuzz target of fuzz/ for FUZZ_SECONDS (default 60) each, on the stable
# toolchain, then a table of executions per second and corpus sizes.
#
# cargo-fuzz is installed from crates.io into .tools/ (pinned; skipped when that version is
# there). On stable, libFuzzer runs with `--sanitizer none`: coverage-guided, no AddressSanitizer
# (which needs -Zsanitizer, nightly only); Rust's own checks (bounds, overflow in debug
# assertions, panics) are what a target trips. A crash stops that target only: the others run,
# the table marks it, and the exit status is 1. Its input is kept under fuzz/artifacts/<target>/.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-60}"
version="${CARGO_FUZZ_VERSION:-0.13.2}"
tools="$root/.tools"
cargo_fuzz="$tools/bin/cargo-fuzz"
logs="$root/fuzz/target/logs"

if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
  exit 2
fi
if ! "$cargo_fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $version"; then
  echo "installing cargo-fuzz $version into .tools/"
  cargo install --locked --quiet --root "$tools" --version "$version" cargo-fuzz || exit 1
fi

# The fuzz build keeps to fuzz/target whatever CARGO_TARGET_DIR says.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
fuzz=("$cargo_fuzz" fuzz)
build_flags=(--fuzz-dir fuzz --sanitizer none --target-dir fuzz/target)

python3 fuzz/seed.py || exit 1
mapfile -t targets < <("${fuzz[@]}" list --fuzz-dir fuzz)
mkdir -p "$logs"

started=$SECONDS
echo "building ${#targets[@]} fuzz targets (release, coverage-instrumented)"
if ! "${fuzz[@]}" build "${build_flags[@]}" >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  exit 1
fi
echo "built in $((SECONDS - started)) s"

failed=0
rows=()
for target in "${targets[@]}"; do
  echo "fuzzing $target for $seconds s"
  log="$logs/$target.log"
  "${fuzz[@]}" run "${build_flags[@]}" "$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus_dir="fuzz/corpus/$target"
  files=$(find "$corpus_dir" -type f | wc -l)
  kib=$(( $(find "$corpus_dir" -type f -printf "%s\n" | awk "{s+=\$1} END {print s+0}") / 1024 ))
  if [[ $status -eq 0 ]]; then
    outcome="ok"
  else
    failed=1
    artifact=$(grep -o 'fuzz/artifacts/[^ ]*' "$log" | tail -n 1)
    outcome="CRASH ${artifact:-(see $log)}"
  fi
  rows+=("$(printf '%-18s %10s %12s %9s %9s  %s' "$target" "${runs:-?}" "${per_second:-?}" "$files" "$kib" "$outcome")")
done

echo
printf '%-18s %10s %12s %9s %9s  %s\n' "target" "runs" "execs/s" "corpus" "KiB" "outcome"
printf '%s\n' "${rows[@]}"
echo "(${seconds} s each; logs in fuzz/target/logs/)"
exit $failed
