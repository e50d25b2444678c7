#include "manifold/config/version_range.hpp"

#include <algorithm>
#include <cstddef>

namespace manifold::config {

namespace {

struct comparator {
  std::string op;
  std::vector<long> version;
};

std::optional<std::vector<comparator>> parse_range(std::string_view range) {
  std::vector<comparator> out;
  std::size_t i = 0;
  while (i < range.size()) {
    if (range[i] == ' ') {
      ++i;
      continue;
    }
    const auto end = std::min(range.find(' ', i), range.size());
    auto token = range.substr(i, end - i);
    i = end;
    comparator c;
    for (const std::string_view op : {">=", "<=", ">", "<", "="}) {
      if (token.substr(0, op.size()) == op) {
        c.op = op;
        token.remove_prefix(op.size());
        break;
      }
    }
    if (c.op.empty()) c.op = "=";
    if (token.empty() || token.find_first_not_of("0123456789.") != std::string_view::npos) {
      return std::nullopt;
    }
    auto v = parse_version(token);
    if (!v) return std::nullopt;
    c.version = std::move(*v);
    out.push_back(std::move(c));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

int compare(const std::vector<long>& a, const std::vector<long>& b) {
  const auto n = std::max(a.size(), b.size());
  for (std::size_t k = 0; k < n; ++k) {
    const long x = k < a.size() ? a[k] : 0;
    const long y = k < b.size() ? b[k] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

std::optional<std::vector<long>> parse_version(std::string_view text) {
  if (!text.empty() && (text.front() == 'v' || text.front() == 'V')) text.remove_prefix(1);
  std::vector<long> out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < 6) {
    if (text[i] < '0' || text[i] > '9') break;
    long part = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 9) {
      part = part * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    out.push_back(part);
    if (i + 1 < text.size() && text[i] == '.' && text[i + 1] >= '0' && text[i + 1] <= '9') {
      ++i;
      continue;
    }
    break;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string range_error(std::string_view range) {
  if (parse_range(range)) return {};
  return "a version range is comparators such as \">=1.25 <2\" (operators >=, >, <=, <, =; "
         "dotted numbers)";
}

bool satisfies(const std::vector<long>& version, std::string_view range) {
  const auto parsed = parse_range(range);
  if (!parsed) return false;
  return std::all_of(parsed->begin(), parsed->end(), [&](const comparator& c) {
    const int r = compare(version, c.version);
    if (c.op == ">=") return r >= 0;
    if (c.op == ">") return r > 0;
    if (c.op == "<=") return r <= 0;
    if (c.op == "<") return r < 0;
    return r == 0;
  });
}

}  // namespace manifold::config
