// A bump allocator for parsing one FHIR resource (or any short-lived JSON tree):
// allocations are carved from a caller's buffer, then from heap blocks when
// it is full; nothing is freed one by one, everything goes when the arena
// does. Like boost::json::monotonic_resource, with a shorter allocation path
// (a parse allocates once per string, object and array: the mapped path of
// benchmarks/engine_bench spends ~3% of its time there with
// monotonic_resource).
//
//   alignas(16) unsigned char buffer[32768];
//   fhirbridge::json_io::Arena arena(buffer, sizeof buffer);
//   boost::json::value v = boost::json::parse(text, &arena);  // v must not outlive arena
//
// Not thread-safe (one arena per parse). is_deallocate_trivial is true, so
// destroying a tree built in it does not walk the tree.
#pragma once

#include <boost/json/memory_resource.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>

namespace fhirbridge::json_io {

class Arena final : public boost::json::memory_resource {
 public:
  Arena(void* buffer, std::size_t size) noexcept
      : next_(static_cast<unsigned char*>(buffer)),
        end_(static_cast<unsigned char*>(buffer) + size),
        next_block_size_(std::max<std::size_t>(size, 4096)) {}
  ~Arena() override {
    while (blocks_) {
      Block* next = blocks_->next;
      ::operator delete(blocks_);
      blocks_ = next;
    }
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

 private:
  struct Block {
    Block* next;
  };

  void* do_allocate(std::size_t n, std::size_t align) override {
    // align is a power of two (memory_resource's contract)
    const std::uintptr_t at =
        (reinterpret_cast<std::uintptr_t>(next_) + (align - 1)) & ~std::uintptr_t(align - 1);
    if (at + n <= reinterpret_cast<std::uintptr_t>(end_)) [[likely]] {
      next_ = reinterpret_cast<unsigned char*>(at + n);
      return reinterpret_cast<void*>(at);
    }
    return allocate_in_new_block(n, align);
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  [[gnu::noinline]] void* allocate_in_new_block(std::size_t n, std::size_t align) {
    const std::size_t header =
        (sizeof(Block) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
    const std::size_t size = std::max(next_block_size_, n + align + header);
    auto* block = static_cast<Block*>(::operator new(size));  // throws bad_alloc, as the heap would
    block->next = blocks_;
    blocks_ = block;
    next_block_size_ = size * 2;
    next_ = reinterpret_cast<unsigned char*>(block) + header;
    end_ = reinterpret_cast<unsigned char*>(block) + size;
    return do_allocate(n, align);
  }

  unsigned char* next_;
  unsigned char* end_;
  std::size_t next_block_size_;
  Block* blocks_ = nullptr;
};

}  // namespace fhirbridge::json_io

template <>
struct boost::json::is_deallocate_trivial<fhirbridge::json_io::Arena> : std::true_type {};
