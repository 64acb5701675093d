// A first-in first-out queue on one array that wraps around (a ring): push at the back, pop at
// the front, index from the front, and memory only ever grows to the most it held at once. A
// port's arrivals and a unit's DRAM requests are the simulator's busiest containers (a push and
// a pop per token); std::deque allocated a block every few tokens and indexed through two levels.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace rdasim::sim {

template <class T>
class Ring {
 public:
  [[nodiscard]] bool empty() const { return m_size == 0; }
  [[nodiscard]] std::size_t size() const { return m_size; }
  // Front, back and index: only on a ring that holds the item.
  [[nodiscard]] T& front() { return m_items[m_head]; }
  [[nodiscard]] const T& front() const { return m_items[m_head]; }
  [[nodiscard]] T& back() { return (*this)[m_size - 1]; }
  [[nodiscard]] const T& back() const { return (*this)[m_size - 1]; }
  [[nodiscard]] T& operator[](std::size_t i) { return m_items[(m_head + i) & (m_items.size() - 1)]; }
  [[nodiscard]] const T& operator[](std::size_t i) const { return m_items[(m_head + i) & (m_items.size() - 1)]; }

  void push_back(const T& item) {
    if (m_size == m_items.size()) grow();
    m_items[(m_head + m_size) & (m_items.size() - 1)] = item;
    ++m_size;
  }
  void pop_front() {
    m_head = (m_head + 1) & (m_items.size() - 1);
    --m_size;
  }

 private:
  /// Twice the room (a power of two, so that wrapping is a mask), the items from index 0.
  void grow() {
    std::vector<T> bigger(std::max<std::size_t>(8, 2 * m_items.size()));
    for (std::size_t i = 0; i < m_size; ++i) bigger[i] = (*this)[i];
    m_items.swap(bigger);
    m_head = 0;
  }

  std::vector<T> m_items;
  std::size_t m_head = 0;
  std::size_t m_size = 0;
};

}  // namespace rdasim::sim
