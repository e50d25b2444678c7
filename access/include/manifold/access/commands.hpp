#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "manifold/config/config.hpp"

// Bodies of the access subcommands, kept here so that app/ only parses arguments and calls
// them. Each returns the process exit code.
namespace manifold::access {

// `manifold key hash`: reads one key from the first line of `in` and prints its hash line
// for auth.api_keys[].hash. 0, or 2 when no key was given.
int run_key_hash(std::istream& in, std::ostream& out, std::ostream& err);

// `manifold key new`: prints a new random key and its hash line.
int run_key_new(std::ostream& out);

// `manifold audit verify FILE`: 0 when the chain holds (prints the line count and head
// hash), 1 naming the first bad line, 2 when the file cannot be read.
int run_audit_verify(const std::string& path, std::ostream& out, std::ostream& err);

struct explain_request {
  std::string principal;           // also takes the roles of the API key or stdio identity of that name
  std::vector<std::string> roles;  // --role, repeatable
  std::string tool;                // exposed name
  std::string arguments;           // JSON object; empty: list the rules that would apply
};

// `manifold explain --principal NAME --role R TOOL`: whether the roles may see and call the
// exposed tool, and which role or rule decided (from the config alone: it does not check that
// an upstream offers the tool). 0 visible (and allowed, with arguments), 1 otherwise, 2 on
// bad arguments.
int run_explain(const config::config& cfg, const explain_request& request, std::ostream& out, std::ostream& err);
// The same, loading the config file first (2 with its diagnostics when it is invalid).
int run_explain(const std::string& config_path, const explain_request& request, std::ostream& out, std::ostream& err);

}  // namespace manifold::access
