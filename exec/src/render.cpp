#include "manifold/exec/render.hpp"

#include "manifold/config/argv_template.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::exec {

namespace {

using json = nlohmann::json;

// Empty when `text` may fill a slot whose element so far is `before`.
std::string slot_problem(const std::string& name, const std::string& text,
                         const std::string& before, bool literal_before) {
  if (text.find('\0') != std::string::npos) return "parameter `" + name + "` contains a NUL byte";
  if (text.find_first_of("\r\n") != std::string::npos)
    return "parameter `" + name + "` contains a line break";
  const bool after_equals = literal_before && !before.empty() && before.back() == '=';
  if (!text.empty() && text.front() == '-' && !after_equals) {
    return "parameter `" + name +
           "` may not start with `-` (in its slot it would read as an option)";
  }
  return {};
}

// Whether the element is emitted: its `when` parameter is present and not false.
bool wanted(const config::argv_element& e, const json& values) {
  if (e.when.empty()) return true;
  const auto it = values.find(e.when);
  return it != values.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>()) &&
         !(it->is_array() && it->empty());
}

// Renders one element with `item` standing for the array parameter (if any).
std::string render_element(const std::vector<config::template_piece>& pieces, const json& values,
                           const json* item, std::string& error) {
  std::string out;
  bool literal_before = false;
  for (const auto& piece : pieces) {
    if (!piece.slot) {
      out += piece.text;
      literal_before = true;
      continue;
    }
    const auto it = values.find(piece.text);
    if (it == values.end()) {
      error = "parameter `" + piece.text + "` is needed here and was not given";
      return {};
    }
    const json& value = it->is_array() && item != nullptr ? *item : *it;
    const auto text = slot_text(value);
    if (auto why = slot_problem(piece.text, text, out, literal_before); !why.empty()) {
      error = std::move(why);
      return {};
    }
    out += text;
    literal_before = false;
  }
  return out;
}

const json* array_in(const std::vector<config::template_piece>& pieces, const json& values) {
  for (const auto& piece : pieces) {
    if (!piece.slot) continue;
    const auto it = values.find(piece.text);
    if (it != values.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

}  // namespace

std::string slot_text(const json& value) {
  if (auto text = protocol::scalar_text(value)) return std::move(*text);
  return value.is_null() ? std::string() : value.dump();
}

render_outcome render_command(const config::exec_tool& tool, const json& values) {
  render_outcome out;
  out.command.binary = tool.binary;
  for (const auto& element : tool.argv) {
    if (!wanted(element, values)) continue;
    const auto parsed = config::parse_template(element.text);
    if (!parsed.error.empty()) {
      out.error = "template element \"" + element.text + "\": " + parsed.error;
      return out;
    }
    bool has_slot = false;
    for (const auto& p : parsed.pieces) has_slot = has_slot || p.slot;
    if (const auto* array = array_in(parsed.pieces, values)) {
      for (const auto& item : *array) {
        auto text = render_element(parsed.pieces, values, &item, out.error);
        if (!out.error.empty()) return out;
        out.command.argv.push_back(std::move(text));
        out.command.literal.push_back(false);
      }
      continue;
    }
    auto text = render_element(parsed.pieces, values, nullptr, out.error);
    if (!out.error.empty()) return out;
    out.command.argv.push_back(std::move(text));
    out.command.literal.push_back(!has_slot);
  }
  if (!tool.stdin_param.empty()) {
    if (const auto it = values.find(tool.stdin_param); it != values.end() && !it->is_null()) {
      out.command.stdin_data = it->is_string()
                                   ? it->get<std::string>()
                                   : it->dump(-1, ' ', false, json::error_handler_t::replace);
      if (out.command.stdin_data->find('\0') != std::string::npos) {
        out.error = "parameter `" + tool.stdin_param + "` contains a NUL byte";
      }
    }
  }
  return out;
}

}  // namespace manifold::exec
