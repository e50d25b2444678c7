#include "manifold/proxy/meta_tools.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::proxy {

namespace {

std::vector<std::string> words(std::string_view query) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : query) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      out.push_back(std::exchange(word, {}));
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

}  // namespace

ns::json meta_tool_definitions() {
  using ns::json;
  return json::array(
      {{{"name", "search_tools"},
        {"description",
         "Find tools by what they do. Returns matching tool names with their descriptions; "
         "use describe_tool for a tool's arguments and call_tool to run it."},
        {"inputSchema",
         {{"type", "object"},
          {"properties",
           {{"query", {{"type", "string"}, {"description", "Words describing the task"}}},
            {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}, {"default", 10}}}}},
          {"required", {"query"}}}},
        {"annotations", {{"readOnlyHint", true}}}},
       {{"name", "describe_tool"},
        {"description", "The full definition of one tool: description and input schema."},
        {"inputSchema",
         {{"type", "object"},
          {"properties", {{"name", {{"type", "string"}}}}},
          {"required", {"name"}}}},
        {"annotations", {{"readOnlyHint", true}}}},
       {{"name", "call_tool"},
        {"description", "Run a tool found with search_tools, with arguments per describe_tool."},
        {"inputSchema",
         {{"type", "object"},
          {"properties", {{"name", {{"type", "string"}}}, {"arguments", {{"type", "object"}}}}},
          {"required", {"name"}}}}}});
}

bool is_meta_tool(std::string_view name) {
  return name == "search_tools" || name == "describe_tool" || name == "call_tool";
}

std::vector<const ns::exposed_entry*> search_tools(const std::vector<const ns::exposed_entry*>& tools,
                                                   std::string_view query, std::size_t limit) {
  const auto terms = words(query);
  std::vector<std::pair<int, const ns::exposed_entry*>> scored;
  for (const auto* t : tools) {
    const auto name = protocol::lower_ascii(t->name);
    const auto text = protocol::lower_ascii(protocol::string_or(t->definition, "title") + " " +
                                            protocol::string_or(t->definition, "description"));
    int score = terms.empty() ? 1 : 0;
    for (const auto& w : terms) {
      if (name.find(w) != std::string::npos) score += 3;
      if (text.find(w) != std::string::npos) score += 1;
    }
    if (score > 0) scored.emplace_back(score, t);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const ns::exposed_entry*> out;
  for (std::size_t i = 0; i < scored.size() && i < limit; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace manifold::proxy
