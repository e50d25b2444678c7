#!/usr/bin/env bash
# Client side of the official conformance suite: the suite starts a mock MCP server for each
# scenario and runs this script with its URL as the last argument; manifold is the client,
# with the mock server as its one upstream. MANIFOLD_BIN names the manifold binary.
set -euo pipefail
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
    # authorizing itself as the server asks (OAuth 2.1 with PKCE), then listing its catalog,
    # or for scope step-up also calling the tool that needs the wider scope. A client ID
    # metadata document URL is configured (used only where the authorization server supports
    # it); pre-registered credentials come from MCP_CONFORMANCE_CONTEXT when the scenario
    # gives them.
    config=$(mktemp --suffix=.yaml)
    trap 'rm -f "$config"' EXIT
    {
      printf 'naming:\n  prefix: never\nservers:\n  mock:\n    url: "%s"\n    transport: http\n    oauth:\n' "$url"
      case "${MCP_CONFORMANCE_SCENARIO:-}" in
        # Machine-to-machine (SEP-1046): no person, no browser; the client secret or a
        # private key (private_key_jwt) from the context authenticates manifold itself.
        auth/client-credentials-*) printf '      grant: client_credentials\n' ;;
        *) printf '      client_metadata_url: "https://conformance-test.local/client-metadata.json"\n' ;;
      esac
      if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
        node -e '
          const c = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT);
          const put = (k, v) => { if (v) console.log(`      ${k}: ${JSON.stringify(v)}`); };
          put("client_id", c.client_id);
          put("client_secret", c.client_secret);
          put("private_key", c.private_key_pem);
          put("signing_algorithm", c.signing_algorithm);'
      fi
    } > "$config"
    if [ "${MCP_CONFORMANCE_SCENARIO:-}" = auth/scope-step-up ]; then
      "$manifold" --log-level warn call --config "$config" test-tool --args '{}'
    else
      "$manifold" --log-level warn catalog --config "$config" --format json
    fi ;;
esac
