#!/usr/bin/env bash
# Client side of the official conformance suite: the suite starts a mock MCP server for each
# scenario and runs this script with its URL as the last argument; manifold is the client,
# with the mock server as its one upstream. MANIFOLD_BIN names the manifold binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=oauth_config.sh
. "$here/oauth_config.sh"
url="${*: -1}"
manifold="${MANIFOLD_BIN:?set MANIFOLD_BIN}"
case "${MCP_CONFORMANCE_SCENARIO:-}" in
  tools_call)
    exec "$manifold" --log-level warn call --url "$url" add_numbers --args '{"a":5,"b":3}' ;;
  elicitation-sep1034-client-defaults)
    exec "$manifold" --log-level warn call --url "$url" test_client_elicitation_defaults \
      --elicitation accept-defaults ;;
  sse-retry)
    exec "$manifold" --log-level warn call --url "$url" test_reconnection ;;
  *)
    # Everything else, the auth/* scenarios among them: manifold fronting the mock server,
    # authorizing itself as the server asks (OAuth 2.1 with PKCE; oauth_config.sh), then
    # listing its catalog, or for scope step-up also calling the tool that needs the wider
    # scope.
    config=$(mktemp --suffix=.yaml)
    trap 'rm -f "$config"' EXIT
    {
      printf 'naming:\n  prefix: never\nservers:\n  mock:\n    url: "%s"\n    transport: http\n' "$url"
      oauth_yaml "${MCP_CONFORMANCE_SCENARIO:-}"
    } > "$config"
    if [ "${MCP_CONFORMANCE_SCENARIO:-}" = auth/scope-step-up ]; then
      "$manifold" --log-level warn call --config "$config" test-tool --args '{}'
    else
      "$manifold" --log-level warn catalog --config "$config" --format json
    fi ;;
esac
