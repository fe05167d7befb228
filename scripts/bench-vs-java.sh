#!/usr/bin/env bash
# Side-by-side benchmark of ckpt and the Java checkpoint storage of Apache SeaTunnel's engine, in
# one run, on the same storage.
#
#   scripts/bench-vs-java.sh [local|hdfs|hdfs-dn-down] [--size 64K] [--pipelines 4] [--checkpoints 50]
#                            [--rounds 3] [--max-retained 3] [--warmup-passes 1]
#                            [--json-out FILE] [--keep] [--debug]
#
# Builds ckpt (release) and compat-peer, then runs `ckpt --json bench` and the Java peer
# (compat-peer's ckpt.compat.JavaBench: SeaTunnel 2.3.8's own `hdfs` checkpoint storage plugin,
# HdfsStorage from checkpoint-storage-hdfs with its Hadoop 3.1.4 client, found by factory
# discovery) alternately, --rounds times each, with the same workload and max-retained:
#   local  each run stores under a fresh namespace in a temporary directory (file:///)
#   hdfs   one MiniDFSCluster (hdfs-testenv single, 127.0.0.1) for the whole run, a fresh
#          namespace under /ckpt per run; stopped at the end
#   hdfs-dn-down  as hdfs, with 3 DataNodes and replication 3, and Hadoop's production dead-node
#          detection (--heartbeat-recheck-ms 300000: 610 s); once the cluster is ready one DataNode
#          is stopped without telling the NameNode (hdfs-testenv stop-dn), so for the whole run it
#          keeps handing that DataNode out in every new block's pipeline (issue 8). Every file a
#          run creates then has to get past the dead DataNode (abandon the block, addBlock again
#          excluding it), each implementation the way it does. At the end the NameNode is asked
#          whether it still held the DataNode live (else the numbers are those of a healthy
#          cluster: the run fails). Compare with an hdfs run of the same workload.
## Then prints, per phase, the median over rounds of p50, p99 and MiB/s for both and the ratio
# java/ckpt, plus peak RSS and whole-process wall time (measured from outside, start-up
# included). The JVM gets --warmup-passes full passes of the workload before the measured one
# (excluded from its phases, included in its wall time, and shown separately).
#
# --json-out FILE writes every run's report and the medians. --keep keeps the work directory.
# --debug runs ckpt's debug build (the harness smoke test in scripts/test-all.sh: its timings
# mean nothing).
# JAVA_BENCH_OPTS overrides the JVM options (default: JVM ergonomics, IPv4 stack).
# The runs are noisy on a busy machine: use the ratios of several rounds, not single numbers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[bench-vs-java %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench-vs-java: %s\n' "$1" >&2; exit "${2:-1}"; }
usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

mode=local
size=64K
pipelines=4
checkpoints=50
rounds=3
max_retained=3
warmup_passes=1
json_out=""
keep=0
profile=release
if [[ $# -gt 0 && "$1" != --* ]]; then mode="$1"; shift; fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size|--pipelines|--checkpoints|--rounds|--max-retained|--warmup-passes|--json-out)
      [[ $# -ge 2 ]] || die "$1 needs a value" 2
      case "$1" in
        --size) size="$2" ;;
        --pipelines) pipelines="$2" ;;
        --checkpoints) checkpoints="$2" ;;
        --rounds) rounds="$2" ;;
        --max-retained) max_retained="$2" ;;
        --warmup-passes) warmup_passes="$2" ;;
        --json-out) json_out="$2" ;;
      esac
      shift 2 ;;
    --keep) keep=1; shift ;;
    --debug) profile=debug; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument $1 (see --help)" 2 ;;
  esac
done
case "$mode" in
  local|hdfs|hdfs-dn-down) ;;
  *) die "mode must be local, hdfs or hdfs-dn-down, not $mode" 2 ;;
esac
for pair in "pipelines:$pipelines" "checkpoints:$checkpoints" "rounds:$rounds" "max-retained:$max_retained"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be a positive integer, not ${pair#*:}" 2
done
[[ "$warmup_passes" =~ ^[0-9]+$ ]] || die "--warmup-passes must be a non-negative integer" 2
[[ "$size" =~ ^[0-9]+[kKmMgG]?[bB]?$ ]] || die "--size must look like 4096, 64K or 4M, not $size" 2

for tool in cargo java python3; do
  command -v "$tool" >/dev/null || die "$tool not found (needs Rust, Java 17 with Maven, Python 3)"
done
[[ -n "$(date +%N)" && "$(date +%N)" != N ]] || die "date +%N (GNU date) is needed for wall times"

log "building ckpt ($profile)"
if [[ "$profile" == release ]]; then
  (cd "$ROOT" && cargo build --release --quiet --bin ckpt) || die "cargo build --release failed"
else
  (cd "$ROOT" && cargo build --quiet --bin ckpt) || die "cargo build failed"
fi
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" == /* ]] || target_dir="$ROOT/$target_dir"
CKPT="$target_dir/$profile/ckpt"
[[ -x "$CKPT" ]] || die "$CKPT was not built"
log "building compat-peer (Java peer: SeaTunnel 2.3.8's hdfs plugin)"
CP="$("$ROOT/compat-peer/build.sh")" || die "compat-peer/build.sh failed"
read -r -a JAVA_OPTS <<<"${JAVA_BENCH_OPTS:--Djava.net.preferIPv4Stack=true}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ckpt-bench-vs-java.XXXXXX")"
CLUSTER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$CLUSTER_PID" ]] && kill -0 "$CLUSTER_PID" 2>/dev/null; then
    log "stopping the HDFS cluster"
    { echo stop >&7; } 2>/dev/null || true
    exec 7>&- 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$CLUSTER_PID" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$CLUSTER_PID" 2>/dev/null; then
      log "cluster did not stop in 30 s; killing pid $CLUSTER_PID"
      kill "$CLUSTER_PID" 2>/dev/null || true
    fi
    wait "$CLUSTER_PID" 2>/dev/null || true
  fi
  if [[ "$keep" == 1 || $rc -ne 0 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Where each implementation stores: fs URI, namespace of run N, extra settings.
conf_dir=""
# hdfs-dn-down: the DataNode stopped after start-up (the NameNode is not told).
DOWN_DN=0
cluster_args=()
[[ "$mode" == hdfs-dn-down ]] && cluster_args=(--datanodes 3 --heartbeat-recheck-ms 300000)
# One control command to the cluster; prints its reply (the text after OK).
cluster_cmd() { # COMMAND...
  local before reply
  before=$(wc -l <"$WORK/cluster.out")
  echo "$*" >&7
  for _ in $(seq 1 600); do
    if (( $(wc -l <"$WORK/cluster.out") > before )); then
      reply="$(sed -n "$((before + 1))p" "$WORK/cluster.out")"
      [[ "$reply" == OK* ]] || die "hdfs-testenv: $* answered: $reply"
      echo "${reply#OK }"
      return
    fi
    sleep 0.1
  done
  die "hdfs-testenv did not answer $* in 60 s ($WORK/cluster.log)"
}
if [[ "$mode" == hdfs* ]]; then
  log "starting a MiniDFSCluster (hdfs-testenv single ${cluster_args[*]}, 127.0.0.1)"
  mkfifo "$WORK/cluster.ctl"
  env -u HADOOP_USER_NAME -u HADOOP_CONF_DIR "$ROOT/hdfs-testenv/run.sh" single "$WORK/cluster" \
    "${cluster_args[@]}" <"$WORK/cluster.ctl" >"$WORK/cluster.out" 2>"$WORK/cluster.log" &
  CLUSTER_PID=$!
  exec 7>"$WORK/cluster.ctl"
  timeout_s="${CKPT_HDFS_START_TIMEOUT:-600}"
  waited=0
  until grep -q '^HDFS-TESTENV READY ' "$WORK/cluster.out" 2>/dev/null; do
    if ! kill -0 "$CLUSTER_PID" 2>/dev/null; then
      tail -n 20 "$WORK/cluster.log" >&2 || true
      die "the HDFS cluster exited before it was ready (log above, $WORK/cluster.log)"
    fi
    (( waited < timeout_s * 2 )) || die "the HDFS cluster was not ready after ${timeout_s}s ($WORK/cluster.log)"
    sleep 0.5; waited=$((waited + 1))
  done
  info="$(sed -n 's/^HDFS-TESTENV READY //p' "$WORK/cluster.out" | head -n1)"
  fs_uri="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["defaultFS"])' "$info")"
  conf_dir="$(dirname "$info")"
  log "cluster ready at $fs_uri"
  if [[ "$mode" == hdfs-dn-down ]]; then
    down_addr="$(cluster_cmd dn-address "$DOWN_DN")"
    stopped="$(cluster_cmd stop-dn "$DOWN_DN")"
    log "stop-dn $DOWN_DN: $stopped"
  fi
  namespace_of() { echo "/ckpt/bench-vs-java/$1/"; }
else
  fs_uri="file:///"
  namespace_of() { echo "$WORK/ns/$1/"; }
fi

# ckpt gets the same plugin-config a SeaTunnel engine would (the general hdfs storage type).
ckpt_yaml() { # NAMESPACE FILE
  {
    echo "seatunnel:"
    echo "  engine:"
    echo "    checkpoint:"
    echo "      storage:"
    echo "        type: hdfs"
    echo "        max-retained: $max_retained"
    echo "        plugin-config:"
    if [[ "$mode" == hdfs* ]]; then
      echo "          storage.type: hdfs"
      echo "          fs.defaultFS: \"$fs_uri\""
      echo "          hdfs_site_path: \"$conf_dir/hdfs-site.xml\""
    else
      echo "          storage.type: local"
      echo "          fs.defaultFS: \"file:///\""
    fi
    echo "          namespace: \"$1\""
  } >"$2"
}

now_ns() { date +%s%N; }
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo nan; }
manifest="$WORK/manifest.tsv"
: >"$manifest"

run_ckpt() { # ROUND
  local name="ckpt-$1" t0 t1
  ckpt_yaml "$(namespace_of "$name")" "$WORK/$name.yaml"
  t0=$(now_ns)
  if ! env -u HADOOP_CONF_DIR -u HADOOP_USER_NAME "$CKPT" --config "$WORK/$name.yaml" --json bench \
      --size "$size" --pipelines "$pipelines" --checkpoints "$checkpoints" \
      >"$WORK/$name.json" 2>"$WORK/$name.log"; then
    cat "$WORK/$name.json" "$WORK/$name.log" >&2 || true
    die "ckpt bench failed in round $1 (output above)"
  fi
  t1=$(now_ns)
  printf 'ckpt\t%s\t%s\t%s\t%s\n' "$1" "$((t1 - t0))" "$WORK/$name.json" "$(load1)" >>"$manifest"
}

run_java() { # ROUND
  local name="java-$1" t0 t1 extra=()
  [[ -n "$conf_dir" ]] && extra=(--conf-dir "$conf_dir")
  t0=$(now_ns)
  if ! env -u HADOOP_CONF_DIR -u HADOOP_USER_NAME java "${JAVA_OPTS[@]}" -cp "$CP" ckpt.compat.JavaBench \
      --fs "$fs_uri" --namespace "$(namespace_of "$name")" "${extra[@]}" --size "$size" \
      --pipelines "$pipelines" --checkpoints "$checkpoints" --max-retained "$max_retained" \
      --warmup-passes "$warmup_passes" >"$WORK/$name.json" 2>"$WORK/$name.log"; then
    cat "$WORK/$name.json" >&2 || true
    tail -n 30 "$WORK/$name.log" >&2 || true
    die "Java bench failed in round $1 (output above)"
  fi
  t1=$(now_ns)
  printf 'java\t%s\t%s\t%s\t%s\n' "$1" "$((t1 - t0))" "$WORK/$name.json" "$(load1)" >>"$manifest"
}

log "$mode: $rounds round(s) of $size x $pipelines pipeline(s) x $checkpoints checkpoint(s), max-retained $max_retained"
for round in $(seq 1 "$rounds"); do
  # Alternate who goes first so that drift on the machine hits both alike.
  if (( round % 2 == 1 )); then order=(java ckpt); else order=(ckpt java); fi
  for impl in "${order[@]}"; do
    log "round $round/$rounds: $impl"
    "run_$impl" "$round"
  done
done

dn_down_note=""
if [[ "$mode" == hdfs-dn-down ]]; then
  # The NameNode must still have handed the stopped DataNode out at the end of the last run.
  nn_view="$(cluster_cmd nn-dn-state "$DOWN_DN")"
  [[ "$nn_view" == "nn0=live" ]] || die "the NameNode no longer holds the stopped DataNode live ($nn_view): \
the later runs did not meet a dead DataNode; use a shorter workload"
  dn_down_note="DataNode dn$DOWN_DN at $down_addr stopped before the first run; the NameNode still held it live after the last (3 DataNodes, replication 3: it is in every new block's pipeline)"
fi

python3 - "$manifest" "$mode" "$size" "$pipelines" "$checkpoints" "$rounds" "$max_retained" \
  "$warmup_passes" "$json_out" "$(date -u +%Y-%m-%dT%H:%MZ)" "$profile" "$dn_down_note" <<'PY'
import json, os, statistics, sys

manifest, mode, size, pipelines, checkpoints, rounds, max_retained, warmup, json_out, when, profile, dn_down_note = sys.argv[1:]
pipelines, checkpoints, rounds = int(pipelines), int(checkpoints), int(rounds)
PHASES = ["store", "restore_latest"]
expected = pipelines * checkpoints

runs = {"java": [], "ckpt": []}
for line in open(manifest):
    impl, rnd, wall_ns, path, load = line.rstrip("\n").split("\t")
    try:
        report = json.load(open(path))
    except ValueError as e:
        sys.exit(f"bench-vs-java: {impl} round {rnd} wrote no JSON report ({path}: {e})")
    if "error" in report:
        sys.exit(f"bench-vs-java: {impl} round {rnd} failed: {report['error']}")
    for key in ("state_bytes", "pipelines", "checkpoints_per_pipeline", "phases", "peak_rss_bytes"):
        if key not in report:
            sys.exit(f"bench-vs-java: {impl} round {rnd}: report has no {key!r} ({path})")
    if report["pipelines"] != pipelines or report["checkpoints_per_pipeline"] != checkpoints:
        sys.exit(f"bench-vs-java: {impl} round {rnd} ran another workload ({path})")
    phases = {p["operation"]: p for p in report["phases"]}
    for name in PHASES:
        if name not in phases or phases[name]["count"] != expected:
            sys.exit(f"bench-vs-java: {impl} round {rnd}: phase {name} missing or not {expected} samples ({path})")
    if impl == "java" and report.get("implementation") != "java":
        sys.exit(f"bench-vs-java: the Java report does not say implementation java ({path})")
    report["implementation"] = impl
    report["round"] = int(rnd)
    report["wall_ms"] = int(wall_ns) / 1e6
    report["load_avg_1m_after"] = float(load)
    runs[impl].append(report)

for impl in runs:
    if len(runs[impl]) != rounds:
        sys.exit(f"bench-vs-java: expected {rounds} {impl} result(s), found {len(runs[impl])}")
sizes = {r["state_bytes"] for rs in runs.values() for r in rs}
if len(sizes) != 1:
    sys.exit(f"bench-vs-java: java and ckpt parsed --size {size} differently: {sorted(sizes)}")
state_bytes = sizes.pop()

def med(impl, get):
    values = [v for v in (get(r) for r in runs[impl]) if v is not None]
    return statistics.median(values) if values else None

def phase(name, key):
    return lambda r: next(p[key] for p in r["phases"] if p["operation"] == name)

# (group, metric, getter, lower_is_better)
rows = []
for name in PHASES:
    rows.append((name, "p50 ms", phase(name, "p50_ms"), True))
    rows.append((name, "p99 ms", phase(name, "p99_ms"), True))
    rows.append((name, "MiB/s", phase(name, "mib_per_s"), False))
mib = lambda b: None if b is None else b / (1024 * 1024)
rows.append(("process", "peak RSS MiB", lambda r: mib(r["peak_rss_bytes"]), True))
rows.append(("process", "wall s", lambda r: r["wall_ms"] / 1000, True))
rows.append(("process", "wall s - warm-up", lambda r: (r["wall_ms"] - r.get("java", {}).get("warmup_ms", 0)) / 1000, True))

summary = []
table = [("PHASE", "METRIC", "JAVA", "CKPT", "JAVA/CKPT", "BETTER")]
for group, metric, get, lower in rows:
    j, c = med("java", get), med("ckpt", get)
    ratio = (j / c) if (j is not None and c not in (None, 0)) else None
    if ratio is None or ratio == 1:
        better = "-"
    else:
        ckpt_wins = (ratio > 1) == lower
        factor = ratio if ratio > 1 else 1 / ratio
        better = f"{'ckpt' if ckpt_wins else 'java'} {factor:.1f}x"
    fmt = lambda v: "n/a" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}")
    table.append((group, metric, fmt(j), fmt(c), "n/a" if ratio is None else f"{ratio:.2f}", better))
    summary.append({"phase": group, "metric": metric, "java": j, "ckpt": c, "java_over_ckpt": ratio})

java0 = runs["java"][0].get("java", {})
print(f"ckpt vs Java checkpoint storage, {mode}: {state_bytes} B states x {pipelines} pipeline(s) x "
      f"{checkpoints} checkpoint(s), max-retained {max_retained}, {rounds} round(s) alternating, medians ({when})")
print(f"java: {java0.get('storage', '?')}, {java0.get('jvm', '?')} {java0.get('jvm_args', '')}".rstrip())
print(f"java: {warmup} JIT warm-up pass(es) of the same workload before the measured pass: not in the phases, "
      f"in 'wall s', taken out in 'wall s - warm-up' (median warm-up {med('java', lambda r: r['java']['warmup_ms']):.0f} ms, "
      f"JVM start to main {med('java', lambda r: r['java']['jvm_uptime_at_main_ms']):.0f} ms)")
loads = [r["load_avg_1m_after"] for rs in runs.values() for r in rs]
print(f"machine: {os.cpu_count()} CPUs, 1-minute load average after each run: median {statistics.median(loads):.2f}, "
      f"max {max(loads):.2f} (includes the benchmark itself; much above 1-2 means other work disturbed the runs)")
if profile != "release":
    print(f"WARNING: ckpt {profile} build: these numbers say nothing about ckpt's speed")
if dn_down_note:
    print(f"note: {dn_down_note}")
if mode == "local":
    print("note: on local disk ckpt fsyncs each checkpoint file and its directory; Hadoop's LocalFileSystem "
          "(Java) does not fsync at all")
    if java0.get("hadoop_native") is False:
        print("note: Hadoop runs without its native library (libhadoop) here, as it does wherever libhadoop is "
              "not installed: its local file system starts a chmod process for each file it creates "
              "(checkpoint and .crc)")
widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
for row in table:
    print("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip())
print("JAVA/CKPT = Java's median / ckpt's median; BETTER says which side wins and by how much "
      "(lower is better except MiB/s)")

if json_out:
    with open(json_out, "w") as f:
        json.dump({"mode": mode, "date": when, "size": size, "state_bytes": state_bytes, "pipelines": pipelines,
                   "checkpoints_per_pipeline": checkpoints, "max_retained": int(max_retained),
                   "rounds": rounds, "warmup_passes": int(warmup), "ckpt_profile": profile, "medians": summary, "runs": runs}, f, indent=1)
PY
