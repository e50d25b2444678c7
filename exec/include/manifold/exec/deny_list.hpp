#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manifold/exec/render.hpp"

namespace manifold::exec {

// The deny-list profile of a tool: its `profile:`, else the binary's file name when that is
// kubectl, helm, aws, gh or argocd, else none.
std::string profile_of(std::string_view profile, std::string_view binary);

// Checks the FINAL argv against the profile's dangerous global flags (credentials,
// endpoints, impersonation, files read on the server's behalf) and value rules (aws
// `file://`, gh `@file`, helm `--repo http://`, kubectl `-f` other than `-`), plus the
// server's `extra_deny` flags. `allow_literal` flags are tolerated only in elements that
// the template wrote alone (never in one that holds a parameter value). Options are
// recognised as pflag and the AWS CLI read them: `--name[=value]` with `_` read as `-`,
// short clusters `-abc` letter by letter. Empty when allowed, else why not.
std::string denied(std::string_view profile, const rendered_command& command,
                   const std::vector<std::string>& extra_deny,
                   const std::vector<std::string>& allow_literal);

}  // namespace manifold::exec
