#!/usr/bin/env bash
# Makes sure a .NET SDK that satisfies global.json is on PATH. The machines this project runs on ship one; a
# machine without it gets a clear message rather than a half-finished run (the SDK is not in Debian's archive).
gatehouse_require_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "error: the .NET 10 SDK is required (dotnet not found on PATH). Install it, then run this again." >&2
        return 1
    fi
    local version
    version="$(dotnet --version 2>/dev/null)" || {
        echo "error: 'dotnet --version' failed; the SDK pinned in global.json (10.0.x) may be missing." >&2
        return 1
    }
    case "$version" in
        10.*) ;;
        *) echo "error: .NET SDK $version found; Gatehouse needs 10.0.x (see global.json)." >&2; return 1 ;;
    esac
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}
