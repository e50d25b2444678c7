#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Version ranges for exec self-checks: space-separated comparators that must all hold,
// e.g. ">=1.25 <2". Operators: >=, >, <=, <, = (a bare version means =). Versions are dotted
// numbers; missing parts count as 0, so "<2" admits 1.99.9 and not 2.0.0.
namespace manifold::config {

// "v1.32.4-dispatcher" -> {1, 32, 4}: a leading `v` and anything after the numeric part are
// ignored. nullopt when the text does not start with a number.
std::optional<std::vector<long>> parse_version(std::string_view text);

// Empty when `range` is well formed, else what is wrong with it.
std::string range_error(std::string_view range);

// Whether `version` satisfies every comparator of `range` (false when `range` is malformed).
bool satisfies(const std::vector<long>& version, std::string_view range);

}  // namespace manifold::config
