#!/usr/bin/env bash
# Runs Gatehouse on its embedded defaults: the gateway on 127.0.0.1:8080 with the Northwind and Notes MCP servers
# and Gatehouse Chat behind it.
# Usage: scripts/demo.sh [--port N] [--data-dir DIR]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/dotnet.sh
source "$repo_root/scripts/lib/dotnet.sh"
gatehouse_require_dotnet
cd "$repo_root"
dotnet build src/Gatehouse -c Release --nologo -v quiet -clp:NoSummary
exec dotnet src/Gatehouse/bin/Release/net10.0/gatehouse.dll demo "$@"
