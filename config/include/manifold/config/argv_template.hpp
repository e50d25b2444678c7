#pragma once

#include <string>
#include <string_view>
#include <vector>

// The `{{param}}` slot syntax of exec templates (argv elements, REST paths and queries).
namespace manifold::config {

// A run of literal text, or a slot naming a parameter.
struct template_piece {
  bool slot = false;
  std::string text;  // the literal, or the parameter name
};

struct parsed_template {
  std::vector<template_piece> pieces;
  std::string error;  // empty when the text is well formed
};

// Splits "--namespace={{namespace}}" into literal and slot pieces. A slot is `{{` name `}}`
// with a name of [A-Za-z_][A-Za-z0-9_]*; any other `{{` or `}}` is an error (so a typo never
// becomes literal text that looks like a slot).
parsed_template parse_template(std::string_view text);

}  // namespace manifold::config
