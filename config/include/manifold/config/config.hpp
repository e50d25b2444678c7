#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifold/config/exec_config.hpp"
#include "manifold/config/source_position.hpp"
#include "manifold/config/supervision_config.hpp"

// manifold's configuration as plain values. Parsed once, strictly, by config_loader; nothing
// outside config/ sees YAML. Defaults live here, in the member initialisers.
namespace manifold::config {

enum class prefix_mode { always, when_needed, never };
enum class collision_rule { first_wins, priority, error };

struct naming_config {
  std::string separator = "__";
  prefix_mode prefix = prefix_mode::always;  // never: names and URIs pass unchanged
  std::string profile;         // claude | cursor | vscode | spec: defaults for the three below
  bool spec_charset = false;   // [A-Za-z0-9_.-] instead of [A-Za-z0-9_-]
  std::size_t max_length = 64;
  std::size_t tool_cap = 0;    // warn when more tools are exposed (0: no cap)
  bool meta_tools = false;     // over the cap, offer search_tools/describe_tool/call_tool instead
  collision_rule on_collision = collision_rule::first_wins;
};

// Globs over one kind of an upstream's entries (original names, or URIs for resources).
struct entry_filter_config {
  std::vector<std::string> allow{"*"};
  std::vector<std::string> deny;
};

// A token bucket: `tokens` per `period` on average, at most `burst` at once. `tokens == 0`:
// no limit. YAML: `rate: "10/s"` (s, m or h), `burst: 20` (default: the rate's count).
struct rate_limit_config {
  std::uint64_t tokens = 0;
  std::chrono::milliseconds period{std::chrono::seconds(1)};
  std::uint64_t burst = 0;
  [[nodiscard]] bool limited() const { return tokens != 0; }
  bool operator==(const rate_limit_config&) const = default;
};

struct limits_config {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::size_t page_size = 0;  // items per page of manifold's lists; 0: everything in one page
  std::size_t max_in_flight = 512;            // host requests in flight per session
  std::size_t upstream_max_in_flight = 1024;  // requests in flight per upstream instance
  // Bytes waiting to be written to one peer (a host or an upstream); a peer that lets more
  // pile up has stopped reading and is disconnected. Log and progress notifications to a
  // host are dropped once half of it is used.
  std::size_t max_queued_bytes = 64 * 1024 * 1024;
  // The longest one write to a peer may take before the peer is considered gone.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // `limits.global: {rate, burst}`: one bucket for every call from every principal.
  rate_limit_config global;
  // Calls beyond a concurrency cap (a role's `limits.concurrency`, a server's `concurrency`)
  // wait in a queue of at most `concurrency_queue` entries for at most `concurrency_wait`;
  // a full queue or a wait that runs out refuses the call.
  std::size_t concurrency_queue = 32;
  std::chrono::milliseconds concurrency_wait{std::chrono::seconds(10)};
};

// The host-facing HTTP listener (`manifold serve --listen` overrides `listen`).
struct http_config {
  std::string listen;  // "127.0.0.1:8080"; empty: serve stdio
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_sessions = 1000;
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::size_t replay_events = 256;
  // `http.tls`: serve https (and wss) with this certificate chain and key (PEM files, relative
  // to the config file); `client_ca` requires a client certificate signed by it (mTLS). Both
  // files are read again on reload (SIGHUP or a changed config), so a renewed certificate
  // needs no restart.
  struct tls_config {
    std::string cert;
    std::string key;
    std::string client_ca;
    [[nodiscard]] bool enabled() const { return !cert.empty(); }
    bool operator==(const tls_config&) const = default;
  } tls;
  // `http.sessions`: Streamable HTTP sessions that any replica can serve, so that replicas
  // behind a load balancer need neither sticky routing nor a shared store. A session's state
  // is sealed into its Mcp-Session-Id with AES-256-GCM under a key ring: the first key seals,
  // every key opens (rotation: add a key last everywhere, then move it first, then drop the
  // old one once max_lifetime has passed). Without keys, sessions live in one process.
  //   sessions:
  //     keys_file: /etc/manifold/session-keys/keys   # lines "<id> <base64 of 32 bytes>"
  //     keys: [{id: k1, secret: "${SESSION_KEY}"}]    # or inline (one of the two)
  //     max_lifetime: 24h       # no replica serves a session longer (sealed in the id)
  //     ended_sessions: 10000   # sessions ended (DELETE) that this replica keeps refusing
  //     advertise: "http://${POD_IP}:8080"   # where other replicas reach this one
  //     peers: ["http://manifold-peers:8080"]  # every address of each: told of ended sessions
  struct session_key {
    std::string id;      // 1-32 of [A-Za-z0-9_-]
    std::string secret;  // 32 raw bytes
    bool operator==(const session_key&) const = default;
  };
  struct sessions_config {
    std::string keys_file;  // resolved beside the config file; read on every (re)load
    std::vector<session_key> keys;  // sealing key first
    std::chrono::seconds max_lifetime{std::chrono::hours(24)};
    std::size_t ended_sessions = 10000;
    std::string advertise;  // http(s)://host:port; empty: the listen address when specific
    std::vector<std::string> peers;  // http(s)://host:port of the replicas, told of ended sessions
    [[nodiscard]] bool enabled() const { return !keys.empty(); }
    bool operator==(const sessions_config&) const = default;
  } sessions;
};

enum class transport_kind { stdio, http, sse, websocket, automatic };

// `servers.<name>.oauth`: how manifold authorizes itself to an HTTP upstream that answers
// 401 with a Bearer challenge (MCP authorization, OAuth 2.1 with PKCE). Every field is
// optional: with none, manifold discovers the authorization server and registers itself
// dynamically. The client identity is tried in the specification's order: `client_id`
// (pre-registered), `client_metadata_url` (when the server supports client ID metadata
// documents), dynamic registration.
// How manifold gets its access token from the authorization server.
enum class oauth_grant {
  authorization_code,  // a person (or an authorization server that decides at once) authorizes
  client_credentials,  // manifold itself, as a service (OAuth 2.1 section 4.2)
  token_exchange,      // the caller's own token exchanged for one meant for this upstream (RFC 8693)
};

struct oauth_config {
  bool enabled = true;              // `oauth: false`: never authorize, a 401 is an error
  oauth_grant grant = oauth_grant::authorization_code;
  std::string client_id;            // pre-registered client
  std::string client_secret;        // its secret (client_secret_basic or _post)
  std::string client_metadata_url;  // https URL of this client's metadata document
  std::string client_name = "manifold";  // for dynamic registration
  // Where the authorization server sends the browser back. A loopback http URL (port 0 picks
  // one) that manifold listens on while a person authorizes; an authorization server that
  // redirects at once (no login page) never needs the listener.
  std::string redirect_uri = "http://127.0.0.1:0/callback";
  std::chrono::milliseconds authorize_timeout{std::chrono::minutes(5)};  // waiting for a person
  // private_key_jwt (RFC 7523): a PEM private key (inline, or a file read at load) that signs
  // the client assertion instead of sending a secret; its algorithm (RS256, ES256, EdDSA...)
  // defaults to what the key type allows.
  std::string private_key_pem;
  std::string signing_algorithm;
  std::vector<std::string> scopes;  // asked for instead of what the server's challenge says
  // token_exchange: what the caller's token is (RFC 8693 token type URI) and the audience to
  // ask for (besides `resource`, which is always this upstream).
  std::string subject_token_type = "urn:ietf:params:oauth:token-type:access_token";
  std::string audience;

  bool operator==(const oauth_config&) const = default;
};

// `servers.<name>.forward_identity`: whether the caller's identity travels to the upstream,
// always as claims signed with `identity_signing_key` (never the host's own token):
// none; header (an `X-Manifold-Identity` request header, HTTP upstreams); meta (the request's
// `params._meta["io.manifold/identity"]`).
enum class forward_identity_mode { none, header, meta };
// Where a forwarded identity travels: this `_meta` key (meta), or this HTTP request header
// (header: the HTTP transport moves it there from the `_meta` key).
inline constexpr std::string_view identity_meta_key = "io.manifold/identity";
inline constexpr std::string_view identity_header = "X-Manifold-Identity";

enum class isolation_mode { shared, session, principal };

struct server_config {
  std::string name;        // the key under `servers:`
  std::string namespace_;  // exposed namespace; defaults to `name`
  // stdio upstream: an exact argv, never run through a shell.
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to manifold's own environment
  std::string cwd;
  // network upstream.
  std::string url;
  transport_kind transport = transport_kind::stdio;
  // Which protocol era manifold speaks to it: the handshake era (`initialize`, the default),
  // MCP 2026-07-28 stateless requests (`modern`), or whichever `server/discover` shows
  // (`auto`). Modern upstreams are supported over stdio.
  enum class era { legacy, modern, automatic };
  era protocol = era::legacy;
  std::map<std::string, std::string> headers;
  oauth_config oauth;

  int priority = 0;  // for naming.on_collision: priority
  entry_filter_config tools;
  entry_filter_config prompts;
  entry_filter_config resources;

  // shared: one instance serves every host session; session: each host session gets its own
  // instance; principal: each principal (authenticated caller) gets its own, shared by its
  // sessions. With an instance of its own, the server's requests (sampling, elicitation,
  // roots) reach exactly its host, and no state is shared between hosts. Not set: principal
  // for stdio servers when authentication is on, shared otherwise.
  isolation_mode isolation = isolation_mode::shared;
  bool isolation_set = false;  // written in the config (else the default above applies)

  std::chrono::milliseconds timeout{std::chrono::seconds(60)};          // per request
  std::chrono::milliseconds startup_timeout{std::chrono::seconds(30)};  // start + initialize
  forward_identity_mode forward_identity = forward_identity_mode::none;
  std::size_t concurrency = 0;  // calls in flight to this upstream at once; 0: no cap
  // `exec:` served by manifold itself (exec_config.hpp); exactly one of command, url, exec.
  std::optional<exec_config> exec;
  // Start, restart, health, breaker, idle stop (supervision_config.hpp).
  supervision_config supervision;
  source_position position;
};

// `tools.<exposed name>`: what the host sees of one tool, and the arguments it may pass.
// Each argument constraint is a JSON Schema fragment (enum, const, pattern, minimum,
// maximum, maxLength, default) that narrows the published schema and is enforced on every
// call; `hidden: true` with `value:` removes the argument from the schema and always sends
// that value.
struct tool_override {
  std::string exposed;  // the name it overrides (after prefixing)
  std::string name;     // rename; empty: keep
  std::string title;
  std::string description;
  nlohmann::json annotations;  // merged over the upstream's; null: keep
  std::map<std::string, nlohmann::json> arguments;
  // The deadline of each call (0: the server's `timeout`), and whether a call that its
  // upstream's crash or reconnect interrupted is sent again once it is back (unset: only
  // tools annotated readOnlyHint or idempotentHint).
  std::chrono::milliseconds timeout{0};
  std::optional<bool> retry;
  source_position position;
};

// `groups.<name>`: a virtual server showing the exposed names its globs admit.
struct group_config {
  std::string name;
  std::vector<std::string> include{"*"};
  std::vector<std::string> exclude;
};

// `pinning:` a lock file of tool definitions (written by `manifold pin`); a pinned tool
// whose name, description or schemas change is hidden (or only logged, on_change: warn).
struct pinning_config {
  std::string lock;  // path, relative to the config file; empty: pinning off
  bool hide = true;
};

// ---- Identity and access (the access/ library reads these) ----
//
// auth:
//   api_keys:                       # keys are stored only as `manifold key hash` lines
//     - {principal: ci-bot, hash: "sha256$<salt hex>$<hash hex>", roles: [dev]}
//   api_key_header: Authorization   # default: `Authorization: Bearer <key>`; any other
//                                   # header name (X-API-Key) carries the bare key
//   jwt:
//     issuer: https://idp.example/realms/main       # required
//     audience: https://mcp.example/mcp             # string or list; default: resource.url
//     jwks_file: jwks.json                          # relative to the config file
//     jwks_url: https://idp.example/realms/main/protocol/openid-connect/certs
//     hs256_secret: "${MANIFOLD_JWT_SECRET}"        # HS256/384/512 tokens; >= 32 bytes
//     algorithms: [RS256, ES256, EdDSA]             # default (+ HS256 with hs256_secret)
//     leeway: 60s                                   # clock skew allowed on exp/nbf/iat
//     roles_claim: realm_access.roles               # dot path; array or space-separated string
//     principal_claim: sub
//     jwks_refresh_timeout: 5s                      # deadline of one JWKS fetch
//     jwks_refresh_interval: 10m                    # periodic refresh (revoked keys go away)
//     jwks_min_refresh_interval: 30s                # an unknown kid refetches at most this often
//   resource:                       # OAuth 2.1 resource server (RFC 9728, RFC 8707)
//     url: https://mcp.example/mcp  # this server's canonical URI, the tokens' audience
//     authorization_servers: [https://idp.example/realms/main]
//     scopes_supported: [mcp.tools]
//     required_scopes: [mcp.tools]  # a valid token without them: 403 insufficient_scope
//   stdio_identity: {principal: local, roles: [admin]}   # stdio sessions (no headers)
//   public_endpoints: [/readyz]     # open without credentials: /readyz and/or /metrics
//                                   # (default [/readyz]; /healthz is always open)
//   anonymous_roles: []             # roles of sessions without identity (auth off, or
//                                   # stdio without stdio_identity); none: everything visible
//   admin_roles: [admin]            # the admin endpoints (tap, status page, /metrics unless
//                                   # public) only for principals with one of these roles;
//                                   # default []: any authenticated principal
// roles:                            # absent: any authenticated principal sees everything
//   dev:
//     tools: {allow: ["k8s__*"], deny: ["k8s__delete_namespace"]}   # or a plain list: allow
//     prompts: {allow: ["*"]}
//     resources: {allow: ["file:///docs/*"]}   # globs on exposed names and URIs; a role
//                                              # grants nothing it does not name
//     groups: [readonly]            # may use only these groups' endpoints (default: any)
//     rules:                        # call-time rules; every matching rule must pass
//       - name: dev-namespaces
//         tools: ["k8s__scale", "k8s__delete_*"]
//         when:                     # argument -> JSON Schema fragment (the vocabulary of
//           namespace: {pattern: "^dev-"}          # tools.<name>.arguments, + minimum,
//           replicas: {maximum: 5}                 # type, minLength...); a named argument
//                                                  # must be present unless optional: true
//       - {name: no-exec, tools: ["k8s__exec"], deny: true}
//     limits: {rate: "10/s", burst: 20, per_tool_rate: "1/s", per_tool_burst: 3, concurrency: 4}
// limits:
//   global: {rate: "1000/s", burst: 2000}
//   concurrency_queue: 32
//   concurrency_wait: 10s
// audit:
//   file: audit.jsonl               # relative to the config file; append-only, hash-chained
//   stderr: false
//   arguments: keys                 # none | keys | redacted | full
//   redact: ["ssn=[0-9]+"]          # ECMAScript regexes added to the built-in patterns
// identity_signing_key: "${MANIFOLD_IDENTITY_KEY}"   # HMAC key for forward_identity (>= 32 bytes)
// servers.<name>.forward_identity: none | header | meta;  servers.<name>.concurrency: N

struct api_key_config {
  std::string principal;
  std::string hash;  // sha256$<32 hex salt>$<64 hex digest>
  std::vector<std::string> roles;
  source_position position;
};

struct jwt_config {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwks_file;
  std::string jwks_url;
  std::string hs256_secret;
  std::vector<std::string> algorithms{"RS256", "ES256", "EdDSA"};
  std::chrono::milliseconds leeway{std::chrono::seconds(60)};
  std::string roles_claim = "roles";
  std::string principal_claim = "sub";
  std::chrono::milliseconds jwks_refresh_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds jwks_refresh_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds jwks_min_refresh_interval{std::chrono::seconds(30)};
  [[nodiscard]] bool configured() const { return !issuer.empty(); }
};

struct resource_config {
  std::string url;
  std::vector<std::string> authorization_servers;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> required_scopes;
};

struct identity_config {
  std::string principal;  // empty: not configured
  std::vector<std::string> roles;
};

struct auth_config {
  std::vector<api_key_config> api_keys;
  std::string api_key_header = "Authorization";
  jwt_config jwt;
  resource_config resource;
  identity_config stdio_identity;
  std::vector<std::string> public_endpoints{"/readyz"};
  std::vector<std::string> anonymous_roles;
  std::vector<std::string> admin_roles;  // empty: any authenticated principal
  // Authentication is on: requests without valid credentials are refused.
  [[nodiscard]] bool enabled() const { return !api_keys.empty() || jwt.configured(); }
};

// Globs over exposed names (or URIs); unlike a server's filter, nothing is allowed by default.
struct role_filter_config {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
};

struct call_rule_config {
  std::string name;
  std::vector<std::string> tools;               // globs on exposed tool names
  std::map<std::string, nlohmann::json> when;   // argument -> schema fragment (+ optional)
  bool deny = false;                            // matching tools may not be called at all
  source_position position;
};

struct role_limits_config {
  rate_limit_config rate;      // per principal
  rate_limit_config per_tool;  // per principal and tool
  std::size_t concurrency = 0; // calls in flight per principal; 0: no cap
};

struct role_config {
  std::string name;
  role_filter_config tools;
  role_filter_config prompts;
  role_filter_config resources;
  std::vector<std::string> groups;  // empty: any group and the whole catalog
  std::vector<call_rule_config> rules;
  role_limits_config limits;
  source_position position;
};

enum class audit_arguments { none, keys, redacted, full };

struct audit_config {
  std::string file;  // empty: no file sink
  bool to_stderr = false;
  audit_arguments arguments = audit_arguments::keys;
  std::vector<std::string> redact;  // extra ECMAScript regexes
  [[nodiscard]] bool enabled() const { return !file.empty() || to_stderr; }
};

// ---- Observability (the observe/ library reads these) ----
//
// metrics:
//   enabled: true             # GET /metrics on the HTTP listener
//   max_tool_labels: 200      # exposed tools that get their own `tool` label; others: "other"
//   listen: 127.0.0.1:9464    # stdio mode: serve /metrics here (like --metrics-listen)
// tracing:
//   otlp_endpoint: http://127.0.0.1:4318/v1/traces   # empty: no export (contexts still propagate)
//   sample_ratio: 1.0         # new traces sampled; a host's traceparent decides for its own
//   batch_size: 512
//   batch_interval: 5s
//   queue_size: 2048          # spans waiting; more are dropped and counted
//   timeout: 10s              # deadline of one post to the collector
//   headers: {Authorization: "Bearer ${OTLP_TOKEN}"}
// logs:
//   format: text              # text | json (--log-format)
// tap:
//   enabled: false            # the admin tap endpoint (`manifold tap`)
//   buffer: 1024              # records per subscriber; a slower reader loses records
//   file: traffic.jsonl       # --trace-file; relative to the config file; empty: none
//   max_file_size: 64MiB      # rotated past this
//   files: 5                  # the file and its rotated copies
// ui:
//   enabled: true             # the status page (/ui) on the HTTP listener

struct metrics_config {
  bool enabled = true;
  std::size_t max_tool_labels = 200;
  std::string listen;  // ADDRESS:PORT; empty: none (the HTTP listener serves /metrics)
};

struct tracing_config {
  std::string otlp_endpoint;  // http(s) URL; empty: no export
  double sample_ratio = 1.0;  // 0..1
  std::size_t batch_size = 512;
  std::chrono::milliseconds batch_interval{std::chrono::seconds(5)};
  std::size_t queue_size = 2048;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::map<std::string, std::string> headers;
  [[nodiscard]] bool exporting() const { return !otlp_endpoint.empty(); }
};

enum class log_format { text, json };

struct logs_config {
  log_format format = log_format::text;
};

struct tap_config {
  bool enabled = false;
  std::size_t buffer = 1024;
  std::string file;  // resolved beside the config file; empty: none
  std::size_t max_file_size = 64 * 1024 * 1024;
  std::size_t files = 5;
};

struct ui_config {
  bool enabled = true;
};

struct config {
  std::string source;  // the file it was read from
  std::vector<std::string> included;  // pack files read through `include:` (watch them too)
  std::vector<std::string> key_files;  // secrets read from files (http.sessions.keys_file): watched too
  naming_config naming;
  limits_config limits;
  http_config http;
  std::vector<server_config> servers;
  std::vector<tool_override> tools;
  std::vector<group_config> groups;
  pinning_config pinning;  // in file order; that order breaks ties
  auth_config auth;
  std::vector<role_config> roles;  // in file order
  audit_config audit;
  std::string identity_signing_key;
  metrics_config metrics;
  tracing_config tracing;
  logs_config logs;
  tap_config tap;
  ui_config ui;
  lifecycle_config lifecycle;       // supervision defaults, initialize grace, drain
  std::vector<fault_rule> faults;   // failure drills; empty: none
};

}  // namespace manifold::config
