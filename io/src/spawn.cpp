#include "manifold/io/spawn.hpp"

#include <spdlog/spdlog.h>

namespace manifold::io {

void log_failure::operator()(const std::exception_ptr& failure) const {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", what_, e.what());
  } catch (...) {
    spdlog::error("{} failed with an unknown exception", what_);
  }
}

}  // namespace manifold::io
