// The host buffer pool (core/buffer_pool.cpp): buffers recycled by size,
// in shards with their own locks; threads hammering it at once never get a
// buffer another still holds, and every buffer keeps what its holder wrote.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/buffer_pool.hpp"

using namespace kvs::detail;

TEST_CASE("the buffer pool recycles a released buffer for the next request of its size",
          "[core][pool]") {
  const size_t size = size_t{1} << 20;
  void* a = acquire_buffer(size);
  REQUIRE(a != nullptr);
  REQUIRE(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  release_buffer(a, size);
  void* b = acquire_buffer(size);
  REQUIRE(b == a);  // same size: the pooled buffer comes back
  void* c = acquire_buffer(size);
  REQUIRE(c != b);  // a second one while the first is held is another buffer
  release_buffer(b, size);
  release_buffer(c, size);
}

TEST_CASE("threads acquiring and releasing buffers of many sizes at once never share one",
          "[core][pool]") {
  const std::vector<size_t> sizes{64 << 10, (64 << 10) + 64, 100000, 1 << 20, 3 << 20, 200};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 2000; ++i) {
        auto size = sizes[rng() % sizes.size()];
        auto* p = static_cast<unsigned char*>(acquire_buffer(size));
        auto mark = static_cast<unsigned char>(t * 31 + i);
        std::memset(p, mark, size);
        std::this_thread::yield();  // let others take buffers meanwhile
        for (size_t k = 0; k < size; k += 4096)
          if (p[k] != mark || p[size - 1] != mark)
            ++bad;
        release_buffer(p, size);
      }
    });
  for (auto& th : threads)
    th.join();
  REQUIRE(bad == 0);
}
