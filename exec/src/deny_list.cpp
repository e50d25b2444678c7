#include "manifold/exec/deny_list.hpp"

#include <algorithm>
#include <set>

namespace manifold::exec {

namespace {

// A flag whose value is limited: `only` lists the values allowed (empty: any but those
// starting with one of `refused_prefixes`).
struct value_rule {
  std::string flag;
  std::vector<std::string> only;
  std::vector<std::string> refused_prefixes;
  std::vector<std::string> refused_suffixes;
};

struct profile {
  std::set<std::string> flags;
  std::vector<value_rule> values;
  std::vector<std::string> refused_substrings;  // in any element (lowercased)
  std::vector<std::string> refused_element_prefixes;
};

const profile& kubectl() {
  static const profile p{
      {"--kubeconfig",
       "--server",
       "-s",
       "--token",
       "--as",
       "--as-group",
       "--as-uid",
       "--certificate-authority",
       "--client-certificate",
       "--client-key",
       "--insecure-skip-tls-verify",
       "--context",
       "--cluster",
       "--user",
       "--username",
       "--password",
       "--tls-server-name",
       "--auth-provider",
       "--auth-provider-arg",
       "--exec-command",
       "--exec-arg",
       "--exec-api-version",
       "--exec-env",
       "--profile",
       "--profile-output",
       "--log-file",
       "--log-dir",
       "--cache-dir",
       "--kustomize",
       "-k",
       "--template",
       "--raw-as"},
      {{"--filename", {"-"}, {}, {}},
       {"-f", {"-"}, {}, {}},
       {"--output", {}, {"go-template-file", "jsonpath-file", "templatefile"}, {}},
       {"-o", {}, {"go-template-file", "jsonpath-file", "templatefile"}, {}}},
      {},
      {}};
  return p;
}

const profile& helm() {
  static const profile p{{"--kubeconfig",
                          "--kube-token",
                          "--kube-apiserver",
                          "--kube-as-user",
                          "--kube-as-group",
                          "--kube-ca-file",
                          "--kube-context",
                          "--kube-insecure-skip-tls-verify",
                          "--kube-tls-server-name",
                          "--post-renderer",
                          "--post-renderer-args",
                          "--registry-config",
                          "--repository-config",
                          "--repository-cache",
                          "--set-file",
                          "--ca-file",
                          "--cert-file",
                          "--key-file",
                          "--keyring",
                          "--insecure-skip-tls-verify",
                          "--plain-http",
                          "--pass-credentials",
                          "--password",
                          "--username"},
                         {{"--values", {"-"}, {}, {}},
                          {"-f", {"-"}, {}, {}},
                          {"--repo", {}, {"http://", "file://"}, {}}},
                         {},
                         {}};
  return p;
}

const profile& aws() {
  static const profile p{{"--endpoint-url", "--no-verify-ssl", "--no-sign-request", "--ca-bundle",
                          "--profile", "--debug", "--cli-input-json", "--cli-input-yaml"},
                         {},
                         {"file://", "fileb://"},
                         {"http://", "https://"}};
  return p;
}

const profile& gh() {
  static const profile p{{"--hostname", "--input"}, {}, {"=@"}, {"@"}};
  return p;
}

const profile& argocd() {
  static const profile p{{"--auth-token", "--client-crt", "--client-crt-key", "--config", "--core",
                          "--grpc-web-root-path", "-H", "--header", "--insecure", "--plaintext",
                          "--port-forward", "--port-forward-namespace", "--server", "--server-crt",
                          "--kube-context", "--local", "--local-repo-root"},
                         {},
                         {},
                         {}};
  return p;
}

const profile& none() {
  static const profile p;
  return p;
}

const profile& find_profile(std::string_view name) {
  if (name == "kubectl") return kubectl();
  if (name == "helm") return helm();
  if (name == "aws") return aws();
  if (name == "gh") return gh();
  if (name == "argocd") return argocd();
  return none();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// One option as the CLI reads it.
struct option {
  std::vector<std::string> names;  // "--name", or each "-x" of a short cluster
  std::string value;               // inline (after `=`, or after the first short letter)
  bool inline_value = false;
};

option read_option(const std::string& element) {
  option out;
  if (element.rfind("--", 0) == 0) {
    const auto eq = element.find('=');
    auto name = element.substr(0, eq);
    std::replace(name.begin() + 2, name.end(), '_', '-');
    out.names.push_back(lower(name));
    if (eq != std::string::npos) {
      out.value = element.substr(eq + 1);
      out.inline_value = true;
    }
    return out;
  }
  const auto eq = element.find('=');
  const auto cluster = element.substr(1, eq == std::string::npos ? std::string::npos : eq - 1);
  for (const char c : cluster) out.names.push_back(std::string("-") + c);
  if (element.size() > 2) {
    out.value = element.substr(eq == std::string::npos ? 2 : eq + 1);
    out.inline_value = true;
  }
  return out;
}

std::string value_problem(const value_rule& rule, const std::string& value) {
  if (!rule.only.empty() &&
      std::find(rule.only.begin(), rule.only.end(), value) == rule.only.end()) {
    return rule.flag + " only takes " + rule.only.front();
  }
  const auto v = lower(value);
  for (const auto& p : rule.refused_prefixes) {
    if (v.rfind(p, 0) == 0) return rule.flag + " may not take a value starting with " + p;
  }
  return {};
}

std::string element_problem(const profile& p, const std::string& element) {
  const auto low = lower(element);
  for (const auto& s : p.refused_substrings) {
    if (low.find(s) != std::string::npos) return "an argument holds `" + s + "`";
  }
  for (const auto& s : p.refused_element_prefixes) {
    if (low.rfind(s, 0) == 0) return "an argument starts with `" + s + "`";
  }
  return {};
}

}  // namespace

std::string profile_of(std::string_view profile, std::string_view binary) {
  if (!profile.empty()) return std::string(profile);
  const auto slash = binary.rfind('/');
  const auto base = binary.substr(slash == std::string_view::npos ? 0 : slash + 1);
  for (const std::string_view known : {"kubectl", "helm", "aws", "gh", "argocd"}) {
    if (base == known) return std::string(known);
  }
  return "none";
}

std::string denied(std::string_view profile_name, const rendered_command& command,
                   const std::vector<std::string>& extra_deny,
                   const std::vector<std::string>& allow_literal) {
  const auto& p = find_profile(profile_name);
  const auto& argv = command.argv;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto& element = argv[i];
    const bool literal = i < command.literal.size() && command.literal[i];
    if (auto why = element_problem(p, element); !why.empty()) {
      return "argument " + std::to_string(i + 1) + " is refused: " + why;
    }
    if (element.size() < 2 || element.front() != '-' || element == "--") continue;
    const auto opt = read_option(element);
    for (const auto& name : opt.names) {
      const bool exempt = literal && std::find(allow_literal.begin(), allow_literal.end(), name) !=
                                         allow_literal.end();
      const bool listed = p.flags.count(name) > 0 ||
                          std::find(extra_deny.begin(), extra_deny.end(), name) != extra_deny.end();
      if (listed && !exempt) {
        return "option " + name + " is refused for " + std::string(profile_name) +
               " (it would change credentials, endpoint or files used)";
      }
    }
    for (const auto& rule : p.values) {
      if (opt.names.empty() || opt.names.front() != rule.flag) continue;
      const bool has_value = opt.inline_value || i + 1 < argv.size();
      if (!has_value) continue;
      const auto& value = opt.inline_value ? opt.value : argv[i + 1];
      if (auto why = value_problem(rule, value); !why.empty()) return "option " + why;
    }
  }
  return {};
}

}  // namespace manifold::exec
