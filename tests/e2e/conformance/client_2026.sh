#!/usr/bin/env bash
# Client side of the official conformance suite's MCP 2026-07-28 requirements: the suite
# starts a mock server for each scenario and runs this script with its URL as the last
# argument; manifold is the client, with the mock as its one upstream (2026-07-28 over
# Streamable HTTP, unprefixed names). MANIFOLD_BIN names the manifold binary.
#   - auth/*: manifold authorizes itself as the server asks (OAuth 2.1 with PKCE; a client ID
#     metadata document URL; pre-registered or machine-to-machine credentials from
#     MCP_CONFORMANCE_CONTEXT), then lists its catalog, or for scope step-up calls the tool
#     that needs the wider scope (as client.sh does for 2025-11-25);
#   - everything else: `manifold serve` driven over stdio by client_2026_host.mjs, which lists
#     and calls every tool, reads every resource and gets every prompt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=oauth_config.sh
. "$here/oauth_config.sh"
url="${*: -1}"
manifold="${MANIFOLD_BIN:?set MANIFOLD_BIN}"
scenario="${MCP_CONFORMANCE_SCENARIO:-}"
config=$(mktemp --suffix=.yaml)
trap 'rm -f "$config"' EXIT
{
  printf 'naming:\n  prefix: never\nservers:\n  mock:\n    url: "%s"\n    transport: http\n' "$url"
  case "$scenario" in
    auth/*)
      # The authorization mocks serve both eras; auto speaks 2026-07-28 when discover offers it.
      printf '    protocol: auto\n'
      oauth_yaml "$scenario" ;;
    *) printf '    protocol: modern\n' ;;
  esac
} > "$config"
case "$scenario" in
  auth/scope-step-up) "$manifold" --log-level warn call --config "$config" test-tool --args '{}' ;;
  auth/*) "$manifold" --log-level warn catalog --config "$config" --format json ;;
  *) node "$here/client_2026_host.mjs" "$manifold" "$config" ;;
esac
