# Sourced by client.sh and client_2026.sh: `oauth_yaml SCENARIO` prints the `oauth:` block of
# the mock upstream's config for an auth/* scenario. Machine-to-machine scenarios (SEP-1046:
# no person, no browser) use client_credentials, with the client secret or a private key
# (private_key_jwt) from the context; the others a client ID metadata document URL (used
# only where the authorization server supports it). Pre-registered credentials come from
# MCP_CONFORMANCE_CONTEXT when the scenario gives them.
oauth_yaml() {
  printf '    oauth:\n'
  case "$1" in
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
}
