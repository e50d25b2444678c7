#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace manifold::observe::test {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};

}  // namespace manifold::observe::test

void* operator new(std::size_t size) {
  using namespace manifold::observe::test;
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
