#pragma once

// This test binary's global operator new counts allocations while `counting` is set.

#include <atomic>
#include <cstddef>

namespace manifold::observe::test {

extern std::atomic<bool> counting;
extern std::atomic<std::size_t> allocations;

}  // namespace manifold::observe::test
