#!/usr/bin/env bash
# Measures one MCP `tools/call` round trip through Gatehouse, against the echo server reached directly and through
# nginx: on a public route, on a protected route with an OAuth access token and with a service-account token, and on
# the same protected route with a policy and the audit log on. Installs nginx and wrk if missing, builds Release,
# starts every server on 127.0.0.1, gets the tokens, runs wrk, writes bench/results/latest.md (and prints it), and
# stops everything it started. See docs/performance.md.
#
#   bench/run.sh
#
# Knobs (environment):
#   BENCH_ROUNDS=3             measured rounds per target and concurrency, interleaved across the targets
#   BENCH_DURATION=3           seconds per round
#   BENCH_WARMUP=1             seconds of unmeasured load per target before the rounds of each concurrency
#   BENCH_SETTLE_MAX=90        most seconds of load per target before the first measurement (see settle below)
#   BENCH_CONNECTIONS="1 16 64"
#   BENCH_ACCESS_LOG=1         also measure a second Gatehouse with its access log on (target gatehouse+log)
#   BENCH_POLICY=1             also measure a third Gatehouse with a policy and the audit log on (target gatehouse+policy)
#   BENCH_POLICY_AUDIT=""      audit settings for that Gatehouse, as YAML flow mapping entries (e.g. "log: false" or
#                              "enabled: false"), to tell the parts of its cost apart; the report names them
#   BENCH_CONTROL=1            with BENCH_POLICY, also measure a fourth Gatehouse configured exactly as the first (target
#                              control, its protected route with its own token): an A/A control whose ratio to
#                              gatehouse+token shows how far two identical processes differ in the same run, which is
#                              the resolution of the policy verdict
#   BENCH_PIN=auto             1: wrk on BENCH_LOAD_CPU, every server on BENCH_SERVER_CPU (auto: 1 when nproc >= 2)
#   BENCH_LOAD_CPU=0 BENCH_SERVER_CPU=1
#   BENCH_NGINX_WORKERS        default 1 when pinned (one server core), auto otherwise
#   BENCH_GATEHOUSE_ENV=""     extra VAR=value pairs for the Gatehouse processes only, e.g. "DOTNET_gcServer=0"
#   BENCH_BUILD=1              0 skips `dotnet build` (use the binaries already built)
#   BENCH_OUTPUT=bench/results/latest.md
#   BENCH_PORT_BASE=18080      Gatehouse = base, echo = base+1, nginx = base+2, Gatehouse with access log = base+3,
#                              Gatehouse with policy and audit = base+4, control Gatehouse = base+5
#
# Targets: direct, nginx, gatehouse (public route /mcp), gatehouse+token and gatehouse+sa (the same Gatehouse process,
# protected route /protected, with an OAuth access token or a service-account token), gatehouse+log (optional),
# gatehouse+policy (optional: another Gatehouse, the same protected route and kind of token, with a policy and audit).
# The first two Gatehouse processes run with `audit: {enabled: false}`, so that they measure what they measured before
# the audit log existed and gatehouse+token is the no-policy baseline that gatehouse+policy differs from only in
# policy and audit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-3}
WARMUP=${BENCH_WARMUP:-1}
SETTLE_MAX=${BENCH_SETTLE_MAX:-90}
SETTLE_CHUNK=4
CONNECTIONS=${BENCH_CONNECTIONS:-"1 16 64"}
ACCESS_LOG=${BENCH_ACCESS_LOG:-1}
POLICY=${BENCH_POLICY:-1}
POLICY_AUDIT=${BENCH_POLICY_AUDIT:-}
CONTROL=${BENCH_CONTROL:-1}
[[ $POLICY == 1 ]] || CONTROL=0
GATEHOUSE_ENV=${BENCH_GATEHOUSE_ENV:-}
BUILD=${BENCH_BUILD:-1}
OUTPUT=${BENCH_OUTPUT:-$ROOT/bench/results/latest.md}
PORT_BASE=${BENCH_PORT_BASE:-18080}
GATEHOUSE_PORT=$PORT_BASE
ECHO_PORT=$((PORT_BASE + 1))
NGINX_PORT=$((PORT_BASE + 2))
GATEHOUSE_LOG_PORT=$((PORT_BASE + 3))
GATEHOUSE_POLICY_PORT=$((PORT_BASE + 4))
GATEHOUSE_CONTROL_PORT=$((PORT_BASE + 5))
LOAD_CPU=${BENCH_LOAD_CPU:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
PIN=${BENCH_PIN:-auto}
if [[ $PIN == auto ]]; then
    PIN=$(( $(nproc) >= 2 ? 1 : 0 ))
fi
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-$([[ $PIN == 1 ]] && echo 1 || echo auto)}

ECHO_DLL=$ROOT/bench/Gatehouse.Bench.EchoServer/bin/Release/net10.0/Gatehouse.Bench.EchoServer.dll
GATEHOUSE_DLL=$ROOT/src/Gatehouse/bin/Release/net10.0/gatehouse.dll
LUA_SCRIPT=$ROOT/bench/mcp-tools-call.lua
OAUTH_TOKEN_SCRIPT=$ROOT/bench/oauth-token.py
export BENCH_BODY_FILE=$ROOT/bench/mcp-tools-call.json
# The echo tool's answer, as the JSON-RPC result carries it: checked once per target before any measurement.
EXPECTED_RESULT='"content":[{"type":"text","text":"The quick brown fox jumps over the lazy dog"}]'

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
# nginx workers drop root for an unprivileged user, which must be able to reach the temp paths below.
chmod 755 "$WORK"
PIDS=()
declare -A PID_OF=()   # server name -> process id
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench] %s\n' "$*" >&2; }

die() {
    printf '\n[bench] FAILED: %s\n' "$*" >&2
    exit 1
}

cleanup() {
    local status=$?
    # Stop only what this script started, by process id, newest first.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if ((status != 0)); then
        for f in "$WORK"/logs/*.out "$WORK"/nginx/error.log; do
            [[ -s $f ]] || continue
            printf '\n[bench] --- last lines of %s ---\n' "$(basename "$f")" >&2
            tail -n 20 "$f" >&2
        done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The load generator gets one core and the servers the other, so that wrk never competes with what it measures
# and every proxy shares one core with the upstream it proxies (see docs/performance.md).
SERVER_PIN=()
LOAD_PIN=()
if [[ $PIN == 1 ]]; then
    SERVER_PIN=(taskset -c "$SERVER_CPU")
    LOAD_PIN=(taskset -c "$LOAD_CPU")
fi

# --- 1. tools -------------------------------------------------------------------------------------------------------

ensure_packages() {
    local missing=()
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    ((${#missing[@]} == 0)) && return 0

    local sudo=()
    [[ $EUID -ne 0 ]] && sudo=(sudo)
    log "installing ${missing[*]}"
    # Debian starts a freshly installed nginx on 0.0.0.0:80 unless policy-rc.d forbids it; nothing here may
    # listen beyond loopback, so forbid it for the duration of the install when no policy is in place.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod +x "$policy"
        added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # `apt-get update` only when the package lists cannot satisfy the install.
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
    fi
    ((added_policy)) && "${sudo[@]}" rm -f "$policy"
    return 0
}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- 2. build -------------------------------------------------------------------------------------------------------

build() {
    local project=$1
    for attempt in 1 2 3 4; do
        # Other builds may hold files in obj/ for a moment: retry instead of failing on a lock.
        if dotnet build -c Release --nologo -v quiet "$ROOT/$project" >"$WORK/build.log" 2>&1; then
            return 0
        fi
        if ! grep -qE 'MSB3026|MSB3027|MSB3021|being used by another process|lock' "$WORK/build.log" || ((attempt == 4)); then
            cat "$WORK/build.log" >&2
            die "dotnet build $project"
        fi
        log "build of $project hit a file lock, retrying ($attempt)"
        sleep $((attempt * 3))
    done
}

# --- 3. servers -----------------------------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a server in the background; env and taskset exec what they run, so $! is the server's own process id.
start() {
    local name=$1
    shift
    "${SERVER_PIN[@]}" "$@" >"$WORK/logs/$name.out" 2>&1 &
    PIDS+=($!)
    PID_OF[$name]=$!
    log "started $name (pid $!)"
}

# Waits for an HTTP answer (any status) from URL while the process that should serve it is alive.
wait_ready() {
    local name=$1 url=$2 pid=${PIDS[-1]}
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    die "$name did not answer $url within 30 s"
}

# Each Gatehouse gets a directory of its own: it watches its configuration's directory, and every write to a file
# there (such as the other's access log) would wake its watcher. data_dir keeps its SQLite state in the temp dir.
# Two MCP server routes to the same echo server, alike but for authentication: /mcp is public (the `gatehouse`
# target), /protected is not (`gatehouse+token`, `gatehouse+sa`); the echo server answers on both paths, so neither
# route rewrites anything. The built-in user and the public client exist so that bench/oauth-token.py can get an
# access token through the authorization code flow.
#
# write_gatehouse_config NAME PORT plain|policy. `plain` turns the audit log off, so that these targets measure what
# they measured before it existed. `policy` keeps the audit defaults (on: arguments recorded with redaction, records
# in the database, one log line each) and adds a realistic policy (docs/policy.md) that the bench user's echo call
# satisfies: a top-level allow for the user's group, and on the protected route a deny of `admin_*` tools and a
# group/tool deny like the demo's. Every rule is evaluated for the echo call: both denies miss, then the allow matches.
write_gatehouse_config() {
    local name=$1 port=$2 kind=$3
    mkdir -p "$WORK/$name"
    {
        cat <<EOF
address: 127.0.0.1:$port
data_dir: $WORK/$name/data
idp:
  provider: builtin
  users:
    - {email: $BENCH_USER, name: Bench User, groups: [bench], password_hash: $BENCH_PASSWORD_HASH}
clients:
  - client_id: $BENCH_CLIENT
    name: Gatehouse benchmark
    redirect_uris: [$BENCH_REDIRECT_URI]
routes:
  - name: echo
    from: http://127.0.0.1
    prefix: /mcp
    to: http://127.0.0.1:$ECHO_PORT
    allow_public_unauthenticated_access: true
    mcp:
      server: {}
  - name: echo-protected
    from: http://127.0.0.1
    prefix: /protected
    to: http://127.0.0.1:$ECHO_PORT
    mcp:
      server: {}
EOF
        if [[ $kind == policy ]]; then
            # The protected route's own rules, then the top-level policy (it applies to every protected route).
            cat <<'EOF'
    policy:
      - deny:
          or:
            - mcp_tool: {starts_with: admin_}
      - deny:
          and:
            - groups: {has: contractors}
            - mcp_tool: {is: query}
policy:
  - allow:
      and:
        - groups: {has: bench}
EOF
            if [[ -n $POLICY_AUDIT ]]; then
                printf 'audit: {%s}\n' "$POLICY_AUDIT"
            fi
        else
            printf 'audit:\n  enabled: false\n'
        fi
    } >"$WORK/$name/gatehouse.yaml"
}

write_nginx_config() {
    mkdir -p "$WORK/nginx/temp"
    cat >"$WORK/nginx/nginx.conf" <<EOF
# Generated by bench/run.sh. A plain reverse proxy with the settings that suit MCP (no buffering, so SSE events
# pass as they arrive) and an upstream keep-alive pool, which is what YARP does by default.
daemon off;
worker_processes $NGINX_WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path $WORK/nginx/temp/body;
    proxy_temp_path $WORK/nginx/temp/proxy;
    fastcgi_temp_path $WORK/nginx/temp/fastcgi;
    uwsgi_temp_path $WORK/nginx/temp/uwsgi;
    scgi_temp_path $WORK/nginx/temp/scgi;
    # nginx closes a keep-alive connection after 1000 requests by default; Kestrel does not. Same rule for both.
    keepalive_requests 1000000;
    upstream echo {
        server 127.0.0.1:$ECHO_PORT;
        keepalive 128;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }
    }
}
EOF
}

# One tools/call with curl, as wrk sends it (with the target's Authorization header when asked); prints the status.
# The header goes through a file (curl -H @file), so that no token appears in a process list. TOOL (default echo)
# calls another tool by that name: the body and the Mcp-Name header change together.
tools_call() {
    local target=$1 with_credential=$2 tool=${3:-echo} headers=$WORK/verify-$1.headers body=$BENCH_BODY_FILE
    : >"$headers"
    if [[ $with_credential == 1 && -n ${AUTHORIZATION[$target]:-} ]]; then
        printf 'Authorization: %s\n' "${AUTHORIZATION[$target]}" >"$headers"
    fi
    if [[ $tool != echo ]]; then
        body=$WORK/verify-$tool.json
        sed "s/\"name\":\"echo\"/\"name\":\"$tool\"/" "$BENCH_BODY_FILE" >"$body"
    fi
    curl -sS -o "$WORK/verify-$target.body" -w '%{http_code}' --max-time 10 -X POST "${URL[$target]}" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H "Mcp-Name: $tool" -H "@$headers" \
        --data-binary "@$body" || die "$target: curl could not reach ${URL[$target]}"
}

# Every target must answer 2xx with the echoed text, or nothing is measured; a target with a credential must also
# answer 401 without it (otherwise it would measure a route that checks nothing).
verify() {
    local target=$1 status refused
    status=$(tools_call "$target" 1)
    if [[ $status != 2* ]] || ! grep -qF "$EXPECTED_RESULT" "$WORK/verify-$target.body"; then
        die "$target: POST ${URL[$target]} answered $status, not a 2xx with the echoed text:"$'\n'"$(head -c 2000 "$WORK/verify-$target.body")"
    fi
    if [[ -z ${AUTHORIZATION[$target]:-} ]]; then
        log "verified $target: $status, echoed text present"
        return
    fi
    refused=$(tools_call "$target" 0)
    [[ $refused == 401 ]] || die "$target: POST ${URL[$target]} without the token answered $refused, not 401"
    log "verified $target: $status with the token, echoed text present; $refused without it"
}

# The policy target must enforce its policy and write audit records, or it would measure a path that does neither:
# a call of admin_echo is denied (JSON-RPC -32054), and `gatehouse audit` reads back both calls from the database.
verify_policy() {
    local target=gatehouse+policy config=$WORK/gatehouse-policy/gatehouse.yaml status records
    status=$(tools_call "$target" 1 admin_echo)
    [[ $status == 200 ]] && grep -qF '"code":-32054' "$WORK/verify-$target.body" ||
        die "$target: a call of admin_echo answered $status, not the policy's denial:"$'\n'"$(head -c 2000 "$WORK/verify-$target.body")"
    if [[ -n $POLICY_AUDIT ]]; then
        # Audit settings changed for a breakdown run: the table and the log line may be off on purpose.
        log "verified $target: admin_echo denied by the policy (audit: {$POLICY_AUDIT}, not checked)"
        return
    fi
    # The writer stores a batch within 200 ms of its first record.
    for _ in $(seq 20); do
        records=$(dotnet exec "$GATEHOUSE_DLL" audit --config "$config" --route echo-protected --json 2>/dev/null || true)
        grep -q '"decision":"denied"' <<<"$records" && grep -q '"decision":"allowed"' <<<"$records" && break
        sleep 0.5
    done
    grep -q '"target":"admin_echo".*"decision":"denied"' <<<"$records" && grep -q '"target":"echo","arguments":{"text":' <<<"$records" ||
        die "$target: the audit log does not hold the allowed echo call and the denied admin_echo call:"$'\n'"$records"
    grep -q 'Gatehouse.Audit\[6000\]' "$WORK/logs/gatehouse-policy.out" || die "$target: no audit log line was written"
    log "verified $target: admin_echo denied by the policy; both calls in the audit table and the log"
}

# --- 4. load --------------------------------------------------------------------------------------------------------

# Runs wrk against a target and prints the BENCH line; fails the run on any non-2xx answer. The Lua script sends
# BENCH_AUTHORIZATION as the Authorization header: set for this one command, so it is in wrk's environment only.
run_wrk() {
    local target=$1 connections=$2 seconds=$3 name=${4:-$1} out
    out=$(BENCH_AUTHORIZATION=${AUTHORIZATION[$target]:-} "${LOAD_PIN[@]}" \
        wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$LUA_SCRIPT" "${URL[$target]}" 2>&1) || die "wrk failed against $name: $out"
    printf '### %s, %s connection(s), %s s\n%s\n\n' "$name" "$connections" "$seconds" "$out" >>"$WORK/wrk.txt"
    local line
    line=$(grep '^BENCH ' <<<"$out") || die "wrk printed no BENCH line for $name: $out"
    if grep -q 'Non-2xx' <<<"$out" || ! grep -q ' status_errors=0 ' <<<"$line"; then
        die "$name answered non-2xx under load ($connections connections):"$'\n'"$out"
    fi
    printf '%s\n' "$line"
}

# CPU time (user + system, in clock ticks) used so far by a process and its children (nginx's worker).
cpu_ticks() {
    local total=0 pid stat
    for pid in "$1" $(pgrep -P "$1" || true); do
        stat=$(<"/proc/$pid/stat") || continue
        read -r -a stat <<<"${stat##*) }"
        total=$((total + stat[11] + stat[12]))
    done
    echo "$total"
}

# A .NET process's tiered-compilation threads and the CPU time (clock ticks) each has used so far, as "tid ticks"
# lines. The runtime names the thread ".NET Tiered Compilation Worker" (comm keeps its first 15 characters); it exits
# when idle and starts again when there is work, so readings are compared thread by thread (jit_ticks_between).
jit_threads() {
    local task comm stat
    for task in /proc/"$1"/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        [[ $comm == ".NET Tiered Com"* ]] || continue
        stat=$(cat "$task/stat" 2>/dev/null) || continue
        read -r -a stat <<<"${stat##*) }"
        echo "${task##*/} $((stat[11] + stat[12]))"
    done
}

# The same for every .NET server (echo and Gatehouse processes).
dotnet_jit_threads() {
    local name
    for name in "${!PID_OF[@]}"; do
        [[ $name == nginx ]] || jit_threads "${PID_OF[$name]}"
    done
}

# Ticks the threads used between two readings, counting those alive at the second one (a thread that exited in
# between is not counted: this reads low, never high or negative).
jit_ticks_between() {
    awk 'NR == FNR { before[$1] = $2; next } { total += $2 - before[$1] } END { print total + 0 }' <(echo "$1") <(echo "$2")
}

# Loads a target in 4 s rounds of 16 connections until two rounds in a row agree within 5% on req/s and its
# process spent at most 3% of its CPU in the last round compiling in the background (or SETTLE_MAX seconds pass).
# .NET starts on unoptimised code and tiered compilation (with dynamic PGO) replaces it in the background; on one
# shared core that takes a minute of load or more. Stable req/s alone was not enough: a profile of the policy
# Gatehouse during measured rounds found 46% of its samples in the JIT's background thread, which also took the
# shared core from whichever target was being measured (docs/performance.md, "Settling").
settle() {
    local target=$1 previous=0 rps seconds=0 line pid jit_before cpu_before jit cpu
    pid=${PID_OF[${SERVER[$target]}]}
    while ((seconds + SETTLE_CHUNK <= SETTLE_MAX)); do
        jit_before=$(jit_threads "$pid")
        cpu_before=$(cpu_ticks "$pid")
        line=$(run_wrk "$target" 16 "$SETTLE_CHUNK" "$target (settling)")
        seconds=$((seconds + SETTLE_CHUNK))
        rps=$(field rps "$line")
        jit=$(jit_ticks_between "$jit_before" "$(jit_threads "$pid")")
        cpu=$(($(cpu_ticks "$pid") - cpu_before))
        if awk -v a="$rps" -v b="$previous" -v jit="$jit" -v cpu="$cpu" \
            'BEGIN { exit !(b > 0 && a >= b * 0.95 && a <= b * 1.05 && jit <= cpu * 0.03) }'; then
            break
        fi
        previous=$rps
    done
    log "$target settled after $seconds s of load (last round $rps req/s, background JIT $jit of $cpu CPU ticks)"
    SETTLED[$target]=$seconds
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# --- main -----------------------------------------------------------------------------------------------------------

started_at=$(date +%s)
ensure_packages
command -v dotnet >/dev/null || die "the .NET SDK is not on PATH (global.json pins the version)"
command -v python3 >/dev/null || die "python3 is not on PATH; bench/oauth-token.py needs it to get an access token"

if [[ $BUILD == 1 ]]; then
    log "building Release"
    build src/Gatehouse/Gatehouse.csproj
    build bench/Gatehouse.Bench.EchoServer/Gatehouse.Bench.EchoServer.csproj
fi
[[ -f $GATEHOUSE_DLL && -f $ECHO_DLL ]] || die "Release binaries missing; run without BENCH_BUILD=0"

for port in "$GATEHOUSE_PORT" "$ECHO_PORT" "$NGINX_PORT" "$GATEHOUSE_LOG_PORT" "$GATEHOUSE_POLICY_PORT" "$GATEHOUSE_CONTROL_PORT"; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is in use; pick other ports with BENCH_PORT_BASE"
done

# The built-in user who signs in for the access token: a random password for this run only, kept in the temp dir
# (mode 0600); the configuration gets its hash. The public client is what an MCP client registers.
BENCH_USER=bench@example.com
BENCH_CLIENT=gatehouse-bench
BENCH_REDIRECT_URI=http://127.0.0.1/cb
(umask 077 && head -c 18 /dev/urandom | base64 >"$WORK/password")
BENCH_PASSWORD_HASH=$(dotnet exec "$GATEHOUSE_DLL" users hash-password <"$WORK/password") || die "gatehouse users hash-password failed"

# A Gatehouse without a console access log (the benchmark setting), and one with it (its default).
read -r -a gatehouse_env <<<"$GATEHOUSE_ENV"
mkdir -p "$WORK/logs"
write_gatehouse_config gatehouse "$GATEHOUSE_PORT" plain
write_gatehouse_config gatehouse-log "$GATEHOUSE_LOG_PORT" plain
write_gatehouse_config gatehouse-policy "$GATEHOUSE_POLICY_PORT" policy
write_gatehouse_config gatehouse-control "$GATEHOUSE_CONTROL_PORT" plain
write_nginx_config

# The service-account token, created as docs/service-accounts.md shows: the command opens the gateway's storage
# (SQLite in data_dir) itself, before the gateway starts, and prints only the token. Scoped to the protected route.
sa_token=$(dotnet exec "$GATEHOUSE_DLL" service-account create --config "$WORK/gatehouse/gatehouse.yaml" \
    --user agent@example.com --groups bench --route echo-protected --expires 2h --description "bench/run.sh" \
    2>"$WORK/logs/service-account.out") || die "gatehouse service-account create failed: $(cat "$WORK/logs/service-account.out")"

start echo dotnet exec "$ECHO_DLL" --urls "http://127.0.0.1:$ECHO_PORT"
wait_ready echo "http://127.0.0.1:$ECHO_PORT/mcp"
start gatehouse env Logging__LogLevel__Default=Warning "${gatehouse_env[@]}" \
    dotnet exec "$GATEHOUSE_DLL" serve --config "$WORK/gatehouse/gatehouse.yaml"
wait_ready gatehouse "http://127.0.0.1:$GATEHOUSE_PORT/healthz"
start nginx "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
wait_ready nginx "http://127.0.0.1:$NGINX_PORT/"

TARGETS=(direct nginx gatehouse gatehouse+token gatehouse+sa)
declare -A URL=(
    [direct]="http://127.0.0.1:$ECHO_PORT/mcp"
    [nginx]="http://127.0.0.1:$NGINX_PORT/mcp"
    [gatehouse]="http://127.0.0.1:$GATEHOUSE_PORT/mcp"
    [gatehouse+token]="http://127.0.0.1:$GATEHOUSE_PORT/protected"
    [gatehouse+sa]="http://127.0.0.1:$GATEHOUSE_PORT/protected"
)
# The process that answers wrk, whose CPU the report shows as proxy CPU (the echo server itself for direct).
declare -A SERVER=([direct]=echo [nginx]=nginx [gatehouse]=gatehouse [gatehouse+token]=gatehouse [gatehouse+sa]=gatehouse)

# The OAuth access token, as an MCP client gets it: sign in, authorization code with PKCE for the protected route's
# URL as the resource (RFC 8707), token request. The same token is then sent with every request, as a client does
# until it expires (access_token_lifetime, 1 h by default: longer than a run).
oauth_token() {
    python3 "$OAUTH_TOKEN_SCRIPT" --gateway "http://127.0.0.1:$1" --resource "$2" --client-id "$BENCH_CLIENT" \
        --redirect-uri "$BENCH_REDIRECT_URI" --email "$BENCH_USER" --password-file "$WORK/password" ||
        die "could not get an access token from the Gatehouse on port $1 through the OAuth flow (bench/oauth-token.py)"
}
access_token=$(oauth_token "$GATEHOUSE_PORT" "${URL[gatehouse+token]}")
declare -A AUTHORIZATION=([gatehouse+token]="Bearer $access_token" [gatehouse+sa]="Bearer $sa_token")
log "got an access token (${#access_token} characters) and a service-account token (${#sa_token} characters)"

# add_gatehouse_target TARGET NAME PORT PATH VAR=value...: starts the Gatehouse process NAME (its configuration is
# $WORK/NAME/gatehouse.yaml, listening on PORT) with those environment variables and the BENCH_GATEHOUSE_ENV ones,
# waits until it answers, and adds TARGET, which wrk loads at PATH on it.
add_gatehouse_target() {
    local target=$1 name=$2 port=$3 path=$4
    shift 4
    start "$name" env "$@" "${gatehouse_env[@]}" dotnet exec "$GATEHOUSE_DLL" serve --config "$WORK/$name/gatehouse.yaml"
    wait_ready "$name" "http://127.0.0.1:$port/healthz"
    TARGETS+=("$target")
    URL[$target]="http://127.0.0.1:$port$path"
    SERVER[$target]=$name
}

if [[ $ACCESS_LOG == 1 ]]; then
    # The access log goes to a file, as a service manager or container runtime would take it, not to a terminal.
    add_gatehouse_target gatehouse+log gatehouse-log "$GATEHOUSE_LOG_PORT" /mcp Logging__LogLevel__Default=Information
fi

if [[ $POLICY == 1 ]]; then
    # The same configuration as the first Gatehouse but for the policy and the audit log, whose defaults are on. Its
    # log lines (category Gatehouse.Audit, Information) are part of auditing, so that category is at Information while
    # the rest stays at Warning as in the first process (no access log); they go to a file like gatehouse+log's.
    add_gatehouse_target gatehouse+policy gatehouse-policy "$GATEHOUSE_POLICY_PORT" /protected \
        Logging__LogLevel__Default=Warning Logging__LogLevel__Gatehouse.Audit=Information
    # Its own access token, by the same flow for the same user, client and route: a token is bound to the gateway that
    # issued it (issuer, signing key), so the first Gatehouse's token is not valid here.
    policy_token=$(oauth_token "$GATEHOUSE_POLICY_PORT" "${URL[gatehouse+policy]}")
    AUTHORIZATION[gatehouse+policy]="Bearer $policy_token"
fi

if [[ $CONTROL == 1 ]]; then
    # The A/A control: a process configured and started exactly as the first Gatehouse, measured on its protected
    # route like gatehouse+token. gatehouse+policy is another process than gatehouse+token, so its ratio carries
    # whatever two processes of the same build differ by (where the JIT and the GC placed things, which core's cache
    # they share, the VM's neighbours); control ÷ gatehouse+token measures that in the same run.
    add_gatehouse_target control gatehouse-control "$GATEHOUSE_CONTROL_PORT" /protected Logging__LogLevel__Default=Warning
    control_token=$(oauth_token "$GATEHOUSE_CONTROL_PORT" "${URL[control]}")
    AUTHORIZATION[control]="Bearer $control_token"
fi

for target in "${TARGETS[@]}"; do
    verify "$target"
done
if [[ $POLICY == 1 ]]; then
    verify_policy
fi

declare -A SETTLED=()
for target in "${TARGETS[@]}"; do
    settle "$target"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
jit_before_rounds=$(dotnet_jit_threads)
: >"$WORK/rounds.tsv"
for connections in $CONNECTIONS; do
    for target in "${TARGETS[@]}"; do
        if ((WARMUP > 0)); then
            run_wrk "$target" "$connections" "$WARMUP" "$target (warm-up)" >/dev/null
        fi
    done
    # Rounds interleave the targets, so that a burst of load from elsewhere on the machine spreads over all of them.
    for round in $(seq "$ROUNDS"); do
        for target in "${TARGETS[@]}"; do
            proxy_pid=${PID_OF[${SERVER[$target]}]}
            proxy_before=$(cpu_ticks "$proxy_pid")
            echo_before=$(cpu_ticks "${PID_OF[echo]}")
            line=$(run_wrk "$target" "$connections" "$DURATION")
            proxy_ticks=$(($(cpu_ticks "$proxy_pid") - proxy_before))
            echo_ticks=$(($(cpu_ticks "${PID_OF[echo]}") - echo_before))
            [[ $target == direct ]] && proxy_ticks=-
            errors=$(($(field connect_errors "$line") + $(field read_errors "$line") + $(field write_errors "$line") + $(field timeouts "$line")))
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$connections" "$target" "$(field requests "$line")" \
                "$(field duration_us "$line")" "$(field p50_us "$line")" "$(field p99_us "$line")" "$errors" \
                "$proxy_ticks" "$echo_ticks" >>"$WORK/rounds.tsv"
            log "$connections connection(s), round $round, $target: $(cut -d' ' -f4-7 <<<"$line")"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
jit_in_rounds=$(jit_ticks_between "$jit_before_rounds" "$(dotnet_jit_threads)")

# A check that the policy Gatehouse audited every request: its audit log lines against the requests wrk completed
# (requests still in flight when a wrk run stopped are audited but not counted by wrk, so lines may exceed it).
audit_summary=""
if [[ $POLICY == 1 ]]; then
    sleep 0.5   # the writer logs a batch within 200 ms of its first record
    audit_lines=$(grep -c 'Gatehouse.Audit\[6000\]' "$WORK/logs/gatehouse-policy.out" || true)
    policy_requests=$(awk '/^### / { on = ($2 == "gatehouse+policy" || $2 == "gatehouse+policy,") } on && /^BENCH / { sub(/.*requests=/, ""); n += $1 } END { print n + 0 }' "$WORK/wrk.txt")
    [[ -n $POLICY_AUDIT ]] && audit_summary="Audit settings for this run: \`audit: {$POLICY_AUDIT}\`. "
    audit_summary+="Audit log lines by the end of the run: $audit_lines, for $policy_requests requests completed by wrk (settling, warm-up and rounds) and 2 sent by the check before."
fi

# --- report ---------------------------------------------------------------------------------------------------------

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
os_name=$(. /etc/os-release && echo "$PRETTY_NAME")
dotnet_runtime=$(dotnet --list-runtimes | awk '/^Microsoft.AspNetCore.App 10\./ { v = $2 } END { print v }')
nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
if commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
else
    commit=unknown
fi

{
    echo "# Gatehouse benchmark: MCP tools/call round trip"
    echo
    echo "Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit. See docs/performance.md."
    echo
    echo "- Machine: $(nproc) CPUs ($cpu_model), $mem_total RAM, $os_name, kernel $(uname -r)"
    echo "- Software: .NET $dotnet_runtime (SDK $(dotnet --version)), $nginx_version, $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"
    if [[ $PIN == 1 ]]; then
        echo "- Pinning: wrk on CPU $LOAD_CPU (1 thread); echo server, Gatehouse and nginx on CPU $SERVER_CPU; nginx worker_processes $NGINX_WORKERS"
    else
        echo "- Pinning: none; nginx worker_processes $NGINX_WORKERS"
    fi
    settled=$(for target in "${TARGETS[@]}"; do printf '%s %s s, ' "$target" "${SETTLED[$target]}"; done)
    echo "- Load: first each target until req/s is stable and its background JIT quiet (${settled%, }), then per concurrency ${WARMUP} s warm-up and $ROUNDS interleaved rounds of ${DURATION} s per target"
    echo "- Background JIT of the .NET servers (tiered compilation threads) from the first round to the last (threads still alive at the end): $(awk -v t="$jit_in_rounds" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f s", t / hz }') of CPU"
    echo "- Machine load average (other processes included) before measuring $load_before, after $load_after"
    echo "- Gatehouse env: Logging__LogLevel__Default=Warning${GATEHOUSE_ENV:+ $GATEHOUSE_ENV}$([[ $ACCESS_LOG == 1 ]] && echo "; gatehouse+log is the same with Information, so its access log is on (written to a file)")"
    echo "- gatehouse+token and gatehouse+sa: the same Gatehouse process as gatehouse, on its protected route (/protected, the same upstream), with \`Authorization: Bearer\` an OAuth access token (${#access_token} characters, from the authorization code flow with PKCE in bench/oauth-token.py) or a service-account token; each answers 401 without it"
    echo "- gatehouse, gatehouse+token, gatehouse+sa$([[ $ACCESS_LOG == 1 ]] && echo ", gatehouse+log"): \`audit: {enabled: false}\`"
    if [[ $POLICY == 1 ]]; then
        echo "- gatehouse+policy: a third Gatehouse process, configured as the first but for a policy (top-level allow for the user's group; on the route a deny of \`mcp_tool: {starts_with: admin_}\` and a deny of group contractors with tool query) and the audit log at its defaults (arguments recorded with redaction, records in SQLite, one log line each at Information, written to a file); the same protected route, with an access token from the same flow for the same user and client. $audit_summary"
    fi
    if [[ $CONTROL == 1 ]]; then
        echo "- control: a fourth Gatehouse process, configured and started exactly as the first, measured like gatehouse+token on its own protected route with its own access token: an A/A control for the policy comparison, which is between two processes"
    fi
    echo "- proxy CPU and echo CPU: user + system CPU time of the process (nginx: master and worker) per request during the rounds"
    echo
    # Per target and concurrency: req/s over all rounds, the median round's p50 and p99, CPU over all rounds.
    awk -F'\t' -v hz="$CLK_TCK" '
        function median(list,    v, m, i, j, x) {
            m = split(list, v, " ")
            for (i = 2; i <= m; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        }
        function per_request(ticks, n) { return ticks == "-" ? "-" : sprintf("%.0f", ticks * 1e6 / hz / n) }
        {
            k = $1 SUBSEP $2
            if (!(k in req)) { if (!seen[$1]++) conns[++nc] = $1; if (!tseen[$2]++) targets[++nt] = $2; ptk[k] = ($8 == "-" ? "-" : 0) }
            req[k] += $3; dur[k] += $4; p50s[k] = p50s[k] " " $5; p99s[k] = p99s[k] " " $6; err[k] += $7
            if ($8 != "-") ptk[k] += $8
            etk[k] += $9
        }
        END {
            for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) {
                k = conns[i] SUBSEP targets[j]
                rps[k] = req[k] / (dur[k] / 1e6); p50[k] = median(p50s[k]); p99[k] = median(p99s[k])
            }
            for (i = 1; i <= nc; i++) {
                c = conns[i]
                printf "## %d connection%s\n\n", c, (c == 1 ? "" : "s")
                print "| target | req/s | p50 (µs) | p99 (µs) | req/s ÷ direct | req/s ÷ nginx | p50 − direct (ms) | proxy CPU µs/req | echo CPU µs/req | socket errors |"
                print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
                for (j = 1; j <= nt; j++) {
                    x = targets[j]; k = c SUBSEP x
                    printf "| %s | %.0f | %d | %d | %.2f | %.2f | %+.3f | %s | %s | %d |\n", x, rps[k], p50[k], p99[k],
                        rps[k] / rps[c, "direct"], rps[k] / rps[c, "nginx"], (p50[k] - p50[c, "direct"]) / 1000,
                        per_request(ptk[k], req[k]), per_request(etk[k], req[k]), err[k]
                }
                print ""
            }
            # What authentication costs: the protected route against the public one, in the same process and run.
            print "## Authentication cost"
            print ""
            print "The protected route (gatehouse+token, gatehouse+sa) against the public route (gatehouse) of the same process:"
            print "throughput ratio, added median latency and added proxy CPU per request."
            print ""
            print "| connections | target | req/s ÷ gatehouse | p50 − gatehouse (µs) | proxy CPU − gatehouse (µs/req) |"
            print "| ---: | --- | ---: | ---: | ---: |"
            for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) {
                c = conns[i]; x = targets[j]
                if (x != "gatehouse+token" && x != "gatehouse+sa") continue
                printf "| %d | %s | %.2f | %+d | %+.0f |\n", c, x, rps[c, x] / rps[c, "gatehouse"], p50[c, x] - p50[c, "gatehouse"],
                    per_request(ptk[c, x], req[c, x]) - per_request(ptk[c, "gatehouse"], req[c, "gatehouse"])
            }
            print ""
            # What a policy and the audit log cost: the same protected route and kind of token, in another process.
            if ("gatehouse+policy" in tseen) {
                print "## Policy and audit cost"
                print ""
                print "gatehouse+policy (a policy and the audit log on) against gatehouse+token (no policy, audit off): the same"
                print "protected route and kind of token. Target: at most 10 % more cost, in throughput and in proxy CPU per request."
                control = ("control" in tseen)
                if (control) {
                    print "The control columns compare two identical processes (control, gatehouse+token) in the same run: the"
                    print "policy comparison cannot resolve a difference smaller than theirs, so a verdict is marked unresolved"
                    print "when the control is more than 5 % off in throughput or CPU."
                }
                print ""
                if (control) {
                    print "| connections | req/s ÷ gatehouse+token | throughput cost | p50 − gatehouse+token (µs) | proxy CPU − gatehouse+token (µs/req) | proxy CPU ÷ gatehouse+token | verdict (≤ 10 %) | control: req/s ÷ gatehouse+token | control: proxy CPU ÷ gatehouse+token |"
                    print "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
                } else {
                    print "| connections | req/s ÷ gatehouse+token | throughput cost | p50 − gatehouse+token (µs) | proxy CPU − gatehouse+token (µs/req) | proxy CPU ÷ gatehouse+token | verdict (≤ 10 %) |"
                    print "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"
                }
                for (i = 1; i <= nc; i++) {
                    c = conns[i]; a = c SUBSEP "gatehouse+policy"; b = c SUBSEP "gatehouse+token"
                    ratio = rps[a] / rps[b]; cost = (1 - ratio) * 100
                    cpu_a = ptk[a] * 1e6 / hz / req[a]; cpu_b = ptk[b] * 1e6 / hz / req[b]
                    cpu_cost = (cpu_a / cpu_b - 1) * 100
                    verdict = (cost <= 10 && cpu_cost <= 10 ? "met" : "**missed**")
                    if (control) {
                        k = c SUBSEP "control"
                        control_rps = rps[k] / rps[b]; control_cpu = (ptk[k] * 1e6 / hz / req[k]) / cpu_b
                        off = control_rps - 1; if (off < 0) off = -off
                        cpu_off = control_cpu - 1; if (cpu_off < 0) cpu_off = -cpu_off
                        if (cpu_off > off) off = cpu_off
                        if (off > 0.05) verdict = verdict sprintf(" (unresolved: control %.0f %% off)", off * 100)
                    }
                    printf "| %d | %.2f | %+.1f %% | %+d | %+.0f | %.2f | %s |", c, ratio, cost, p50[a] - p50[b], cpu_a - cpu_b, cpu_a / cpu_b, verdict
                    if (control) printf " %.2f | %.2f |", control_rps, control_cpu
                    print ""
                }
                print ""
            }
            print "## Targets"
            print ""
            print "Throughput: Gatehouse ≥ 0.80 × nginx at every concurrency. Added median latency: Gatehouse p50 − direct p50 ≤ 0.200 ms,"
            print "judged with 1 connection; with more connections every server here is saturated and p50 is mostly queueing"
            print "(connections ÷ req/s), so those rows repeat the throughput result and are shown for information."
            print ""
            print "| connections | target | req/s ÷ nginx (≥ 0.80) | p50 − direct (≤ 0.200 ms at 1 connection) |"
            print "| ---: | --- | --- | --- |"
            for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) {
                c = conns[i]; x = targets[j]
                if (x !~ /^gatehouse/ || x == "gatehouse+log") continue
                ratio = rps[c, x] / rps[c, "nginx"]; added = (p50[c, x] - p50[c, "direct"]) / 1000
                verdict = c == 1 ? (added <= 0.2 ? "met" : "**missed**") : "(saturated, not judged)"
                printf "| %d | %s | %.2f %s | %.3f ms %s |\n", c, x, ratio, (ratio >= 0.8 ? "met" : "**missed**"), added, verdict
            }
        }' "$WORK/rounds.tsv"
} >"$WORK/latest.md"

mkdir -p "$(dirname "$OUTPUT")"
cp "$WORK/latest.md" "$OUTPUT"
cp "$WORK/wrk.txt" "${OUTPUT%.md}.wrk.txt"
echo
cat "$OUTPUT"
echo
log "written to ${OUTPUT#"$ROOT"/} (raw wrk output in $(basename "${OUTPUT%.md}.wrk.txt")) in $(($(date +%s) - started_at)) s"
