// A first-in first-out queue on one array that wraps around (a ring): push at the back, pop at
// the front, index from the front, and memory only ever grows to the most it held at once. A
// port's arrivals and a unit's DRAM requests are the simulator's busiest containers (a push and
// a pop per token); std::deque allocated a block every few tokens and indexed through two levels.
// The first few items live inside the ring itself: most ports hold two or three tokens at once,
// and with them on the port's own cache lines a firing's look at its inputs no longer waits on
// a second allocation (perf: a third of SectionFlow::inputs_ready's samples were that load).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rdasim::sim {

template <class T, std::size_t Inline = 4>
class Ring {
  static_assert(std::has_single_bit(Inline), "wrapping is a mask: the inline room is a power of two");

 public:
  [[nodiscard]] bool empty() const { return m_size == 0; }
  [[nodiscard]] std::size_t size() const { return m_size; }
  // Front, back and index: only on a ring that holds the item.
  [[nodiscard]] T& front() { return items()[m_head]; }
  [[nodiscard]] const T& front() const { return items()[m_head]; }
  [[nodiscard]] T& back() { return (*this)[m_size - 1]; }
  [[nodiscard]] const T& back() const { return (*this)[m_size - 1]; }
  [[nodiscard]] T& operator[](std::size_t i) { return items()[(m_head + i) & m_mask]; }
  [[nodiscard]] const T& operator[](std::size_t i) const { return items()[(m_head + i) & m_mask]; }

  void push_back(const T& item) {
    if (m_size == m_mask + 1) grow();
    items()[(m_head + m_size) & m_mask] = item;
    ++m_size;
  }
  void pop_front() {
    m_head = (m_head + 1) & m_mask;
    --m_size;
  }

 private:
  // Where the items are: inside the ring until it first outgrows that room. Chosen on each
  // access rather than kept as a pointer, so that copying or moving a ring needs nothing special.
  [[nodiscard]] T* items() { return m_heap.empty() ? m_inline.data() : m_heap.data(); }
  [[nodiscard]] const T* items() const { return m_heap.empty() ? m_inline.data() : m_heap.data(); }

  /// Twice the room (a power of two, so that wrapping is a mask), the items from index 0.
  void grow() {
    std::vector<T> bigger(2 * (static_cast<std::size_t>(m_mask) + 1));
    for (std::size_t i = 0; i < m_size; ++i) bigger[i] = (*this)[i];
    m_heap.swap(bigger);
    m_head = 0;
    m_mask = static_cast<std::uint32_t>(m_heap.size() - 1);
  }

  std::array<T, Inline> m_inline{};
  std::vector<T> m_heap;
  std::uint32_t m_head = 0;
  std::uint32_t m_size = 0;
  std::uint32_t m_mask = Inline - 1;
};

}  // namespace rdasim::sim
